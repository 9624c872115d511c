/** The classic consumer-group APIs: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, DescribeGroups, ListGroups, DeleteGroups. */
import { api, array, field, message, struct } from '../schema.ts';

export const JoinGroup = api(
  message(11, 'JoinGroupRequest', '0-9', '6+', [
    field('GroupId', 'string', '0+'),
    field('SessionTimeoutMs', 'int32', '0+'),
    field('RebalanceTimeoutMs', 'int32', '1+', { default: -1 }),
    field('MemberId', 'string', '0+'),
    field('GroupInstanceId', 'string', '5+', { nullable: '5+' }),
    field('ProtocolType', 'string', '0+'),
    field('Protocols', array(struct(field('Name', 'string', '0+'), field('Metadata', 'bytes', '0+'))), '0+'),
    field('Reason', 'string', '8+', { nullable: '8+' }),
  ]),
  message(11, 'JoinGroupResponse', '0-9', '6+', [
    field('ThrottleTimeMs', 'int32', '2+'),
    field('ErrorCode', 'int16', '0+'),
    field('GenerationId', 'int32', '0+', { default: -1 }),
    field('ProtocolType', 'string', '7+', { nullable: '7+' }),
    field('ProtocolName', 'string', '0+', { nullable: '7+' }),
    field('Leader', 'string', '0+'),
    field('SkipAssignment', 'bool', '9+'),
    field('MemberId', 'string', '0+'),
    field('Members', array(struct(field('MemberId', 'string', '0+'), field('GroupInstanceId', 'string', '5+', { nullable: '5+' }), field('Metadata', 'bytes', '0+'))), '0+'),
  ]),
);

export const SyncGroup = api(
  message(14, 'SyncGroupRequest', '0-5', '4+', [
    field('GroupId', 'string', '0+'),
    field('GenerationId', 'int32', '0+'),
    field('MemberId', 'string', '0+'),
    field('GroupInstanceId', 'string', '3+', { nullable: '3+' }),
    field('ProtocolType', 'string', '5+', { nullable: '5+' }),
    field('ProtocolName', 'string', '5+', { nullable: '5+' }),
    field('Assignments', array(struct(field('MemberId', 'string', '0+'), field('Assignment', 'bytes', '0+'))), '0+'),
  ]),
  message(14, 'SyncGroupResponse', '0-5', '4+', [
    field('ThrottleTimeMs', 'int32', '1+'),
    field('ErrorCode', 'int16', '0+'),
    field('ProtocolType', 'string', '5+', { nullable: '5+' }),
    field('ProtocolName', 'string', '5+', { nullable: '5+' }),
    field('Assignment', 'bytes', '0+'),
  ]),
);

export const Heartbeat = api(
  message(12, 'HeartbeatRequest', '0-4', '4+', [
    field('GroupId', 'string', '0+'),
    field('GenerationId', 'int32', '0+'),
    field('MemberId', 'string', '0+'),
    field('GroupInstanceId', 'string', '3+', { nullable: '3+' }),
  ]),
  message(12, 'HeartbeatResponse', '0-4', '4+', [field('ThrottleTimeMs', 'int32', '1+'), field('ErrorCode', 'int16', '0+')]),
);

export const LeaveGroup = api(
  message(13, 'LeaveGroupRequest', '0-5', '4+', [
    field('GroupId', 'string', '0+'),
    field('MemberId', 'string', '0-2'),
    field('Members', array(struct(field('MemberId', 'string', '3+'), field('GroupInstanceId', 'string', '3+', { nullable: '3+' }), field('Reason', 'string', '5+', { nullable: '5+' }))), '3+'),
  ]),
  message(13, 'LeaveGroupResponse', '0-5', '4+', [
    field('ThrottleTimeMs', 'int32', '1+'),
    field('ErrorCode', 'int16', '0+'),
    field('Members', array(struct(field('MemberId', 'string', '3+'), field('GroupInstanceId', 'string', '3+', { nullable: '3+' }), field('ErrorCode', 'int16', '3+'))), '3+'),
  ]),
);

export const DescribeGroups = api(
  message(15, 'DescribeGroupsRequest', '0-5', '5+', [field('Groups', array('string'), '0+'), field('IncludeAuthorizedOperations', 'bool', '3+')]),
  message(15, 'DescribeGroupsResponse', '0-5', '5+', [
    field('ThrottleTimeMs', 'int32', '1+'),
    field(
      'Groups',
      array(
        struct(
          field('ErrorCode', 'int16', '0+'),
          field('GroupId', 'string', '0+'),
          field('GroupState', 'string', '0+'),
          field('ProtocolType', 'string', '0+'),
          field('ProtocolData', 'string', '0+'),
          field(
            'Members',
            array(
              struct(
                field('MemberId', 'string', '0+'),
                field('GroupInstanceId', 'string', '4+', { nullable: '4+' }),
                field('ClientId', 'string', '0+'),
                field('ClientHost', 'string', '0+'),
                field('MemberMetadata', 'bytes', '0+'),
                field('MemberAssignment', 'bytes', '0+'),
              ),
            ),
            '0+',
          ),
          field('AuthorizedOperations', 'int32', '3+', { default: -2147483648 }),
        ),
      ),
      '0+',
    ),
  ]),
);

export const ListGroups = api(
  message(16, 'ListGroupsRequest', '0-5', '3+', [field('StatesFilter', array('string'), '4+'), field('TypesFilter', array('string'), '5+')]),
  message(16, 'ListGroupsResponse', '0-5', '3+', [
    field('ThrottleTimeMs', 'int32', '1+'),
    field('ErrorCode', 'int16', '0+'),
    field('Groups', array(struct(field('GroupId', 'string', '0+'), field('ProtocolType', 'string', '0+'), field('GroupState', 'string', '4+'), field('GroupType', 'string', '5+'))), '0+'),
  ]),
);

export const DeleteGroups = api(
  message(42, 'DeleteGroupsRequest', '0-2', '2+', [field('GroupsNames', array('string'), '0+')]),
  message(42, 'DeleteGroupsResponse', '0-2', '2+', [
    field('ThrottleTimeMs', 'int32', '0+'),
    field('Results', array(struct(field('GroupId', 'string', '0+'), field('ErrorCode', 'int16', '0+'))), '0+'),
  ]),
);
