/** Committed offsets: OffsetCommit and OffsetFetch. */
import { api, array, field, message, struct } from '../schema.ts';

export const OffsetCommit = api(
  message(8, 'OffsetCommitRequest', '0-9', '8+', [
    field('GroupId', 'string', '0+'),
    field('GenerationIdOrMemberEpoch', 'int32', '1+', { default: -1 }),
    field('MemberId', 'string', '1+'),
    field('GroupInstanceId', 'string', '7+', { nullable: '7+' }),
    field('RetentionTimeMs', 'int64', '2-4', { default: -1 }),
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
                field('CommittedLeaderEpoch', 'int32', '6+', { default: -1 }),
                field('CommitTimestamp', 'int64', '1', { default: -1 }),
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
  message(8, 'OffsetCommitResponse', '0-9', '8+', [
    field('ThrottleTimeMs', 'int32', '3+'),
    field('Topics', array(struct(field('Name', 'string', '0+'), field('Partitions', array(struct(field('PartitionIndex', 'int32', '0+'), field('ErrorCode', 'int16', '0+'))), '0+'))), '0+'),
  ]),
);

const fetchedPartition = (v: string) =>
  struct(
    field('PartitionIndex', 'int32', v),
    field('CommittedOffset', 'int64', v),
    field('CommittedLeaderEpoch', 'int32', v === '0-7' ? '5-7' : v, { default: -1 }),
    field('Metadata', 'string', v, { nullable: v }),
    field('ErrorCode', 'int16', v),
  );

export const OffsetFetch = api(
  message(9, 'OffsetFetchRequest', '0-9', '6+', [
    field('GroupId', 'string', '0-7'),
    field('Topics', array(struct(field('Name', 'string', '0-7'), field('PartitionIndexes', array('int32'), '0-7'))), '0-7', { nullable: '2-7' }),
    field(
      'Groups',
      array(
        struct(
          field('GroupId', 'string', '8+'),
          field('MemberId', 'string', '9+', { nullable: '9+' }),
          field('MemberEpoch', 'int32', '9+', { default: -1 }),
          field('Topics', array(struct(field('Name', 'string', '8+'), field('PartitionIndexes', array('int32'), '8+'))), '8+', { nullable: '8+' }),
        ),
      ),
      '8+',
    ),
    field('RequireStable', 'bool', '7+'),
  ]),
  message(9, 'OffsetFetchResponse', '0-9', '6+', [
    field('ThrottleTimeMs', 'int32', '3+'),
    field('Topics', array(struct(field('Name', 'string', '0-7'), field('Partitions', array(fetchedPartition('0-7')), '0-7'))), '0-7'),
    field('ErrorCode', 'int16', '2-7'),
    field(
      'Groups',
      array(struct(field('GroupId', 'string', '8+'), field('Topics', array(struct(field('Name', 'string', '8+'), field('Partitions', array(fetchedPartition('8+')), '8+'))), '8+'), field('ErrorCode', 'int16', '8+'))),
      '8+',
    ),
  ]),
);
