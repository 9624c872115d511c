import { api, array, field, message } from '../schema.ts';

export const SaslHandshake = api(
  message(17, 'SaslHandshakeRequest', '0-1', 'none', [field('Mechanism', 'string', '0+')]),
  message(17, 'SaslHandshakeResponse', '0-1', 'none', [field('ErrorCode', 'int16', '0+'), field('Mechanisms', array('string'), '0+')]),
);

export const SaslAuthenticate = api(
  message(36, 'SaslAuthenticateRequest', '0-2', '2+', [field('AuthBytes', 'bytes', '0+')]),
  message(36, 'SaslAuthenticateResponse', '0-2', '2+', [
    field('ErrorCode', 'int16', '0+'),
    field('ErrorMessage', 'string', '0+', { nullable: '0+' }),
    field('AuthBytes', 'bytes', '0+'),
    field('SessionLifetimeMs', 'int64', '1+'),
  ]),
);
