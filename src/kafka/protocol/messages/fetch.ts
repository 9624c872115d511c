import { api, array, field, message, struct } from '../schema.ts';

export const Fetch = api(
  message(1, 'FetchRequest', '0-17', '12+', [
    field('ClusterId', 'string', '12+', { nullable: '12+', tag: 0, tagged: '12+' }),
    field('ReplicaId', 'int32', '0-14', { default: -1 }),
    field('ReplicaState', struct(field('ReplicaId', 'int32', '15+', { default: -1 }), field('ReplicaEpoch', 'int64', '15+', { default: -1 })), '15+', { tag: 1, tagged: '15+' }),
    field('MaxWaitMs', 'int32', '0+'),
    field('MinBytes', 'int32', '0+'),
    field('MaxBytes', 'int32', '3+', { default: 0x7fffffff }),
    field('IsolationLevel', 'int8', '4+'),
    field('SessionId', 'int32', '7+'),
    field('SessionEpoch', 'int32', '7+', { default: -1 }),
    field(
      'Topics',
      array(
        struct(
          field('Topic', 'string', '0-12'),
          field('TopicId', 'uuid', '13+'),
          field(
            'Partitions',
            array(
              struct(
                field('Partition', 'int32', '0+'),
                field('CurrentLeaderEpoch', 'int32', '9+', { default: -1 }),
                field('FetchOffset', 'int64', '0+'),
                field('LastFetchedEpoch', 'int32', '12+', { default: -1 }),
                field('LogStartOffset', 'int64', '5+', { default: -1 }),
                field('PartitionMaxBytes', 'int32', '0+'),
                field('ReplicaDirectoryId', 'uuid', '17+', { tag: 0, tagged: '17+' }),
              ),
            ),
            '0+',
          ),
        ),
      ),
      '0+',
    ),
    field('ForgottenTopicsData', array(struct(field('Topic', 'string', '7-12'), field('TopicId', 'uuid', '13+'), field('Partitions', array('int32'), '7+'))), '7+'),
    field('RackId', 'string', '11+'),
  ]),
  message(1, 'FetchResponse', '0-17', '12+', [
    field('ThrottleTimeMs', 'int32', '1+'),
    field('ErrorCode', 'int16', '7+'),
    field('SessionId', 'int32', '7+'),
    field(
      'Responses',
      array(
        struct(
          field('Topic', 'string', '0-12'),
          field('TopicId', 'uuid', '13+'),
          field(
            'Partitions',
            array(
              struct(
                field('PartitionIndex', 'int32', '0+'),
                field('ErrorCode', 'int16', '0+'),
                field('HighWatermark', 'int64', '0+'),
                field('LastStableOffset', 'int64', '4+', { default: -1 }),
                field('LogStartOffset', 'int64', '5+', { default: -1 }),
                field('DivergingEpoch', struct(field('Epoch', 'int32', '12+', { default: -1 }), field('EndOffset', 'int64', '12+', { default: -1 })), '12+', { tag: 0, tagged: '12+' }),
                field('CurrentLeader', struct(field('LeaderId', 'int32', '12+', { default: -1 }), field('LeaderEpoch', 'int32', '12+', { default: -1 })), '12+', { tag: 1, tagged: '12+' }),
                field('SnapshotId', struct(field('EndOffset', 'int64', '0+', { default: -1 }), field('Epoch', 'int32', '0+', { default: -1 })), '12+', { tag: 2, tagged: '12+' }),
                field('AbortedTransactions', array(struct(field('ProducerId', 'int64', '4+'), field('FirstOffset', 'int64', '4+'))), '4+', { nullable: '4+' }),
                field('PreferredReadReplica', 'int32', '11+', { default: -1 }),
                field('Records', 'records', '0+', { nullable: '0+' }),
              ),
            ),
            '0+',
          ),
        ),
      ),
      '0+',
    ),
    field('NodeEndpoints', array(struct(field('NodeId', 'int32', '16+'), field('Host', 'string', '16+'), field('Port', 'int32', '16+'), field('Rack', 'string', '16+', { nullable: '16+' }))), '16+', { tag: 0, tagged: '16+' }),
  ]),
  // Served from v4: older versions need message sets v0/v1, which the log does not store.
  '4-17',
);
