import { api, array, field, message, struct } from '../schema.ts';

export const ListOffsets = api(
  message(2, 'ListOffsetsRequest', '0-10', '6+', [
    field('ReplicaId', 'int32', '0+'),
    field('IsolationLevel', 'int8', '2+'),
    field(
      'Topics',
      array(
        struct(
          field('Name', 'string', '0+'),
          field(
            'Partitions',
            array(struct(field('PartitionIndex', 'int32', '0+'), field('CurrentLeaderEpoch', 'int32', '4+', { default: -1 }), field('Timestamp', 'int64', '0+'), field('MaxNumOffsets', 'int32', '0', { default: 1 }))),
            '0+',
          ),
        ),
      ),
      '0+',
    ),
    field('TimeoutMs', 'int32', '10+'),
  ]),
  message(2, 'ListOffsetsResponse', '0-10', '6+', [
    field('ThrottleTimeMs', 'int32', '2+'),
    field(
      'Topics',
      array(
        struct(
          field('Name', 'string', '0+'),
          field(
            'Partitions',
            array(
              struct(
                field('PartitionIndex', 'int32', '0+'),
                field('ErrorCode', 'int16', '0+'),
                field('OldStyleOffsets', array('int64'), '0'),
                field('Timestamp', 'int64', '1+', { default: -1 }),
                field('Offset', 'int64', '1+', { default: -1 }),
                field('LeaderEpoch', 'int32', '4+', { default: -1 }),
              ),
            ),
            '0+',
          ),
        ),
      ),
      '0+',
    ),
  ]),
);
