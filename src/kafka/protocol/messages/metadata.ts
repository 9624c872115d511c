import { api, array, field, message, struct } from '../schema.ts';

export const Metadata = api(
  message(3, 'MetadataRequest', '0-12', '9+', [
    field('Topics', array(struct(field('TopicId', 'uuid', '10+'), field('Name', 'string', '0+', { nullable: '10+' }))), '0+', { nullable: '1+' }),
    field('AllowAutoTopicCreation', 'bool', '4+', { default: true }),
    field('IncludeClusterAuthorizedOperations', 'bool', '8-10'),
    field('IncludeTopicAuthorizedOperations', 'bool', '8+'),
  ]),
  message(3, 'MetadataResponse', '0-12', '9+', [
    field('ThrottleTimeMs', 'int32', '3+'),
    field(
      'Brokers',
      array(struct(field('NodeId', 'int32', '0+'), field('Host', 'string', '0+'), field('Port', 'int32', '0+'), field('Rack', 'string', '1+', { nullable: '1+' }))),
      '0+',
    ),
    field('ClusterId', 'string', '2+', { nullable: '2+' }),
    field('ControllerId', 'int32', '1+', { default: -1 }),
    field(
      'Topics',
      array(
        struct(
          field('ErrorCode', 'int16', '0+'),
          field('Name', 'string', '0+', { nullable: '12+' }),
          field('TopicId', 'uuid', '10+'),
          field('IsInternal', 'bool', '1+'),
          field(
            'Partitions',
            array(
              struct(
                field('ErrorCode', 'int16', '0+'),
                field('PartitionIndex', 'int32', '0+'),
                field('LeaderId', 'int32', '0+'),
                field('LeaderEpoch', 'int32', '7+', { default: -1 }),
                field('ReplicaNodes', array('int32'), '0+'),
                field('IsrNodes', array('int32'), '0+'),
                field('OfflineReplicas', array('int32'), '5+'),
              ),
            ),
            '0+',
          ),
          field('TopicAuthorizedOperations', 'int32', '8+', { default: -2147483648 }),
        ),
      ),
      '0+',
    ),
    field('ClusterAuthorizedOperations', 'int32', '8-10', { default: -2147483648 }),
  ]),
);
