/** Transactions: AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit (client-facing versions). */
import { api, array, field, message, struct } from '../schema.ts';

const topicPartitions = struct(field('Name', 'string', '0+'), field('Partitions', array('int32'), '0+'));
const partitionResults = struct(field('Name', 'string', '0+'), field('ResultsByPartition', array(struct(field('PartitionIndex', 'int32', '0+'), field('PartitionErrorCode', 'int16', '0+'))), '0+'));

export const AddPartitionsToTxn = api(
  message(24, 'AddPartitionsToTxnRequest', '0-5', '3+', [
    field(
      'Transactions',
      array(
        struct(
          field('TransactionalId', 'string', '4+'),
          field('ProducerId', 'int64', '4+'),
          field('ProducerEpoch', 'int16', '4+'),
          field('VerifyOnly', 'bool', '4+'),
          field('Topics', array(topicPartitions), '4+'),
        ),
      ),
      '4+',
    ),
    field('V3AndBelowTransactionalId', 'string', '0-3'),
    field('V3AndBelowProducerId', 'int64', '0-3'),
    field('V3AndBelowProducerEpoch', 'int16', '0-3'),
    field('V3AndBelowTopics', array(topicPartitions), '0-3'),
  ]),
  message(24, 'AddPartitionsToTxnResponse', '0-5', '3+', [
    field('ThrottleTimeMs', 'int32', '0+'),
    field('ErrorCode', 'int16', '4+'),
    field('ResultsByTransaction', array(struct(field('TransactionalId', 'string', '4+'), field('TopicResults', array(partitionResults), '4+'))), '4+'),
    field('ResultsByTopicV3AndBelow', array(partitionResults), '0-3'),
  ]),
  // v4+ is the broker-to-broker batched form; clients use 0-3.
  '0-3',
);

export const AddOffsetsToTxn = api(
  message(25, 'AddOffsetsToTxnRequest', '0-4', '3+', [
    field('TransactionalId', 'string', '0+'),
    field('ProducerId', 'int64', '0+'),
    field('ProducerEpoch', 'int16', '0+'),
    field('GroupId', 'string', '0+'),
  ]),
  message(25, 'AddOffsetsToTxnResponse', '0-4', '3+', [field('ThrottleTimeMs', 'int32', '0+'), field('ErrorCode', 'int16', '0+')]),
  '0-3',
);

export const EndTxn = api(
  message(26, 'EndTxnRequest', '0-5', '3+', [
    field('TransactionalId', 'string', '0+'),
    field('ProducerId', 'int64', '0+'),
    field('ProducerEpoch', 'int16', '0+'),
    field('Committed', 'bool', '0+'),
  ]),
  message(26, 'EndTxnResponse', '0-5', '3+', [
    field('ThrottleTimeMs', 'int32', '0+'),
    field('ErrorCode', 'int16', '0+'),
    field('ProducerId', 'int64', '5+', { default: -1 }),
    field('ProducerEpoch', 'int16', '5+', { default: -1 }),
  ]),
  '0-3',
);

export const TxnOffsetCommit = api(
  message(28, 'TxnOffsetCommitRequest', '0-4', '3+', [
    field('TransactionalId', 'string', '0+'),
    field('GroupId', 'string', '0+'),
    field('ProducerId', 'int64', '0+'),
    field('ProducerEpoch', 'int16', '0+'),
    field('GenerationId', 'int32', '3+', { default: -1 }),
    field('MemberId', 'string', '3+'),
    field('GroupInstanceId', 'string', '3+', { nullable: '3+' }),
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
                field('CommittedOffset', 'int64', '0+'),
                field('CommittedLeaderEpoch', 'int32', '2+', { default: -1 }),
                field('CommittedMetadata', 'string', '0+', { nullable: '0+' }),
              ),
            ),
            '0+',
          ),
        ),
      ),
      '0+',
    ),
  ]),
  message(28, 'TxnOffsetCommitResponse', '0-4', '3+', [
    field('ThrottleTimeMs', 'int32', '0+'),
    field('Topics', array(struct(field('Name', 'string', '0+'), field('Partitions', array(struct(field('PartitionIndex', 'int32', '0+'), field('ErrorCode', 'int16', '0+'))), '0+'))), '0+'),
  ]),
  '0-3',
);
