/** Topic administration: CreateTopics, DeleteTopics, CreatePartitions, DeleteRecords, DescribeConfigs, DescribeCluster. */
import { api, array, field, message, struct } from '../schema.ts';

export const CreateTopics = api(
  message(19, 'CreateTopicsRequest', '0-7', '5+', [
    field(
      'Topics',
      array(
        struct(
          field('Name', 'string', '0+'),
          field('NumPartitions', 'int32', '0+'),
          field('ReplicationFactor', 'int16', '0+'),
          field('Assignments', array(struct(field('PartitionIndex', 'int32', '0+'), field('BrokerIds', array('int32'), '0+'))), '0+'),
          field('Configs', array(struct(field('Name', 'string', '0+'), field('Value', 'string', '0+', { nullable: '0+' }))), '0+'),
        ),
      ),
      '0+',
    ),
    field('TimeoutMs', 'int32', '0+', { default: 60000 }),
    field('ValidateOnly', 'bool', '1+'),
  ]),
  message(19, 'CreateTopicsResponse', '0-7', '5+', [
    field('ThrottleTimeMs', 'int32', '2+'),
    field(
      'Topics',
      array(
        struct(
          field('Name', 'string', '0+'),
          field('TopicId', 'uuid', '7+'),
          field('ErrorCode', 'int16', '0+'),
          field('ErrorMessage', 'string', '1+', { nullable: '0+' }),
          field('TopicConfigErrorCode', 'int16', '5+', { tag: 0, tagged: '5+' }),
          field('NumPartitions', 'int32', '5+', { default: -1 }),
          field('ReplicationFactor', 'int16', '5+', { default: -1 }),
          field(
            'Configs',
            array(
              struct(
                field('Name', 'string', '5+'),
                field('Value', 'string', '5+', { nullable: '5+' }),
                field('ReadOnly', 'bool', '5+'),
                field('ConfigSource', 'int8', '5+', { default: -1 }),
                field('IsSensitive', 'bool', '5+'),
              ),
            ),
            '5+',
            { nullable: '5+' },
          ),
        ),
      ),
      '0+',
    ),
  ]),
);

export const DeleteTopics = api(
  message(20, 'DeleteTopicsRequest', '0-6', '4+', [
    field('Topics', array(struct(field('Name', 'string', '6+', { nullable: '6+' }), field('TopicId', 'uuid', '6+'))), '6+'),
    field('TopicNames', array('string'), '0-5'),
    field('TimeoutMs', 'int32', '0+'),
  ]),
  message(20, 'DeleteTopicsResponse', '0-6', '4+', [
    field('ThrottleTimeMs', 'int32', '1+'),
    field(
      'Responses',
      array(struct(field('Name', 'string', '0+', { nullable: '6+' }), field('TopicId', 'uuid', '6+'), field('ErrorCode', 'int16', '0+'), field('ErrorMessage', 'string', '5+', { nullable: '5+' }))),
      '0+',
    ),
  ]),
);

export const CreatePartitions = api(
  message(37, 'CreatePartitionsRequest', '0-3', '2+', [
    field('Topics', array(struct(field('Name', 'string', '0+'), field('Count', 'int32', '0+'), field('Assignments', array(struct(field('BrokerIds', array('int32'), '0+'))), '0+', { nullable: '0+' }))), '0+'),
    field('TimeoutMs', 'int32', '0+'),
    field('ValidateOnly', 'bool', '0+'),
  ]),
  message(37, 'CreatePartitionsResponse', '0-3', '2+', [
    field('ThrottleTimeMs', 'int32', '0+'),
    field('Results', array(struct(field('Name', 'string', '0+'), field('ErrorCode', 'int16', '0+'), field('ErrorMessage', 'string', '0+', { nullable: '0+' }))), '0+'),
  ]),
);

export const DeleteRecords = api(
  message(21, 'DeleteRecordsRequest', '0-2', '2+', [
    field('Topics', array(struct(field('Name', 'string', '0+'), field('Partitions', array(struct(field('PartitionIndex', 'int32', '0+'), field('Offset', 'int64', '0+'))), '0+'))), '0+'),
    field('TimeoutMs', 'int32', '0+'),
  ]),
  message(21, 'DeleteRecordsResponse', '0-2', '2+', [
    field('ThrottleTimeMs', 'int32', '0+'),
    field(
      'Topics',
      array(struct(field('Name', 'string', '0+'), field('Partitions', array(struct(field('PartitionIndex', 'int32', '0+'), field('LowWatermark', 'int64', '0+'), field('ErrorCode', 'int16', '0+'))), '0+'))),
      '0+',
    ),
  ]),
);

export const DescribeConfigs = api(
  message(32, 'DescribeConfigsRequest', '0-4', '4+', [
    field('Resources', array(struct(field('ResourceType', 'int8', '0+'), field('ResourceName', 'string', '0+'), field('ConfigurationKeys', array('string'), '0+', { nullable: '0+' }))), '0+'),
    field('IncludeSynonyms', 'bool', '1+'),
    field('IncludeDocumentation', 'bool', '3+'),
  ]),
  message(32, 'DescribeConfigsResponse', '0-4', '4+', [
    field('ThrottleTimeMs', 'int32', '0+'),
    field(
      'Results',
      array(
        struct(
          field('ErrorCode', 'int16', '0+'),
          field('ErrorMessage', 'string', '0+', { nullable: '0+' }),
          field('ResourceType', 'int8', '0+'),
          field('ResourceName', 'string', '0+'),
          field(
            'Configs',
            array(
              struct(
                field('Name', 'string', '0+'),
                field('Value', 'string', '0+', { nullable: '0+' }),
                field('ReadOnly', 'bool', '0+'),
                field('IsDefault', 'bool', '0'),
                field('ConfigSource', 'int8', '1+', { default: -1 }),
                field('IsSensitive', 'bool', '0+'),
                field('Synonyms', array(struct(field('Name', 'string', '1+'), field('Value', 'string', '1+', { nullable: '0+' }), field('Source', 'int8', '1+'))), '1+'),
                field('ConfigType', 'int8', '3+'),
                field('Documentation', 'string', '3+', { nullable: '0+' }),
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

export const DescribeCluster = api(
  message(60, 'DescribeClusterRequest', '0-1', '0+', [field('IncludeClusterAuthorizedOperations', 'bool', '0+'), field('EndpointType', 'int8', '1+', { default: 1 })]),
  message(60, 'DescribeClusterResponse', '0-1', '0+', [
    field('ThrottleTimeMs', 'int32', '0+'),
    field('ErrorCode', 'int16', '0+'),
    field('ErrorMessage', 'string', '0+', { nullable: '0+' }),
    field('EndpointType', 'int8', '1+', { default: 1 }),
    field('ClusterId', 'string', '0+'),
    field('ControllerId', 'int32', '0+', { default: -1 }),
    field('Brokers', array(struct(field('BrokerId', 'int32', '0+'), field('Host', 'string', '0+'), field('Port', 'int32', '0+'), field('Rack', 'string', '0+', { nullable: '0+' }))), '0+'),
    field('ClusterAuthorizedOperations', 'int32', '0+', { default: -2147483648 }),
  ]),
);
