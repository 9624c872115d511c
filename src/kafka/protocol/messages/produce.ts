import { api, array, field, message, struct } from '../schema.ts';

const LeaderIdAndEpoch = struct(field('LeaderId', 'int32', '10+', { default: -1 }), field('LeaderEpoch', 'int32', '10+', { default: -1 }));
const NodeEndpoint = struct(field('NodeId', 'int32', '10+'), field('Host', 'string', '10+'), field('Port', 'int32', '10+'), field('Rack', 'string', '10+', { nullable: '10+' }));

export const Produce = api(
  message(0, 'ProduceRequest', '0-11', '9+', [
    field('TransactionalId', 'string', '3+', { nullable: '3+' }),
    field('Acks', 'int16', '0+'),
    field('TimeoutMs', 'int32', '0+'),
    field(
      'TopicData',
      array(struct(field('Name', 'string', '0+'), field('PartitionData', array(struct(field('Index', 'int32', '0+'), field('Records', 'records', '0+', { nullable: '0+' }))), '0+'))),
      '0+',
    ),
  ]),
  message(0, 'ProduceResponse', '0-11', '9+', [
    field(
      'Responses',
      array(
        struct(
          field('Name', 'string', '0+'),
          field(
            'PartitionResponses',
            array(
              struct(
                field('Index', 'int32', '0+'),
                field('ErrorCode', 'int16', '0+'),
                field('BaseOffset', 'int64', '0+'),
                field('LogAppendTimeMs', 'int64', '2+', { default: -1 }),
                field('LogStartOffset', 'int64', '5+', { default: -1 }),
                field('RecordErrors', array(struct(field('BatchIndex', 'int32', '8+'), field('BatchIndexErrorMessage', 'string', '8+', { nullable: '8+' }))), '8+'),
                field('ErrorMessage', 'string', '8+', { nullable: '8+' }),
                field('CurrentLeader', LeaderIdAndEpoch, '10+', { tag: 0, tagged: '10+' }),
              ),
            ),
            '0+',
          ),
        ),
      ),
      '0+',
    ),
    field('ThrottleTimeMs', 'int32', '1+'),
    field('NodeEndpoints', array(NodeEndpoint), '10+', { tag: 0, tagged: '10+' }),
  ]),
);
