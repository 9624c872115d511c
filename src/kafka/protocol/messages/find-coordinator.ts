import { api, array, field, message, struct } from '../schema.ts';

export const FindCoordinator = api(
  message(10, 'FindCoordinatorRequest', '0-6', '3+', [
    field('Key', 'string', '0-3'),
    field('KeyType', 'int8', '1+'),
    field('CoordinatorKeys', array('string'), '4+'),
  ]),
  message(10, 'FindCoordinatorResponse', '0-6', '3+', [
    field('ThrottleTimeMs', 'int32', '1+'),
    field('ErrorCode', 'int16', '0-3'),
    field('ErrorMessage', 'string', '1-3', { nullable: '1-3' }),
    field('NodeId', 'int32', '0-3'),
    field('Host', 'string', '0-3'),
    field('Port', 'int32', '0-3'),
    field(
      'Coordinators',
      array(
        struct(
          field('Key', 'string', '4+'),
          field('NodeId', 'int32', '4+'),
          field('Host', 'string', '4+'),
          field('Port', 'int32', '4+'),
          field('ErrorCode', 'int16', '4+'),
          field('ErrorMessage', 'string', '4+', { nullable: '4+' }),
        ),
      ),
      '4+',
    ),
  ]),
);
