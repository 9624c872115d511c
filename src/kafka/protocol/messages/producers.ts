/** Idempotent producers and leader epochs: InitProducerId, OffsetForLeaderEpoch. */
import { api, array, field, message, struct } from '../schema.ts';

export const InitProducerId = api(
  message(22, 'InitProducerIdRequest', '0-5', '2+', [
    field('TransactionalId', 'string', '0+', { nullable: '0+' }),
    field('TransactionTimeoutMs', 'int32', '0+'),
    field('ProducerId', 'int64', '3+', { default: -1 }),
    field('ProducerEpoch', 'int16', '3+', { default: -1 }),
  ]),
  message(22, 'InitProducerIdResponse', '0-5', '2+', [
    field('ThrottleTimeMs', 'int32', '0+'),
    field('ErrorCode', 'int16', '0+'),
    field('ProducerId', 'int64', '0+', { default: -1 }),
    field('ProducerEpoch', 'int16', '0+'),
  ]),
);

export const OffsetForLeaderEpoch = api(
  message(23, 'OffsetForLeaderEpochRequest', '0-4', '4+', [
    field('ReplicaId', 'int32', '3+', { default: -2 }),
    field(
      'Topics',
      array(struct(field('Topic', 'string', '0+'), field('Partitions', array(struct(field('Partition', 'int32', '0+'), field('CurrentLeaderEpoch', 'int32', '2+', { default: -1 }), field('LeaderEpoch', 'int32', '0+'))), '0+'))),
      '0+',
    ),
  ]),
  message(23, 'OffsetForLeaderEpochResponse', '0-4', '4+', [
    field('ThrottleTimeMs', 'int32', '2+'),
    field(
      'Topics',
      array(
        struct(
          field('Topic', 'string', '0+'),
          field('Partitions', array(struct(field('ErrorCode', 'int16', '0+'), field('Partition', 'int32', '0+'), field('LeaderEpoch', 'int32', '1+', { default: -1 }), field('EndOffset', 'int64', '0+', { default: -1 }))), '0+'),
        ),
      ),
      '0+',
    ),
  ]),
);
