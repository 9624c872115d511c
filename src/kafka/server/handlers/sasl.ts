/**
 * SASL PLAIN (RFC 4616) over SaslHandshake + SaslAuthenticate. The principal it yields
 * (`User:<name>`) is what every later request of the connection is authorized as.
 */
import type { Message } from '../../protocol/codec.ts';
import type { BrokerContext, ConnectionState, RequestContext } from '../context.ts';
import { ErrorCode } from '../kafka-errors.ts';

export interface SaslState {
  mechanism: string | null;
  authenticated: boolean;
}

export interface SaslConfig {
  mechanisms: string[];
  /** PLAIN users: name → password. */
  users: Record<string, string>;
}

export function saslHandshake(broker: BrokerContext, _req: RequestContext, body: Message, conn: ConnectionState): Message {
  const offered = broker.sasl?.mechanisms ?? [];
  const mechanism = body.mechanism as string;
  if (!offered.includes(mechanism)) return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: offered };
  conn.sasl.mechanism = mechanism;
  return { errorCode: ErrorCode.NONE, mechanisms: offered };
}

/** Checks a PLAIN token ("authzid \0 authcid \0 password"); returns the user name or an error. */
export function checkPlain(token: Buffer, users: Record<string, string>): { user: string } | { error: string } {
  const parts = token.toString('utf8').split('\u0000');
  if (parts.length !== 3) return { error: 'malformed PLAIN token: expected authzid NUL user NUL password' };
  const [authzid, user, password] = parts as [string, string, string];
  if (authzid !== '' && authzid !== user) return { error: `user ${user} may not act as ${authzid}` };
  const expected = Object.prototype.hasOwnProperty.call(users, user) ? users[user] : undefined;
  if (expected === undefined || expected !== password) return { error: `authentication failed for user ${user}: invalid user name or password` };
  return { user };
}

export function saslAuthenticate(broker: BrokerContext, _req: RequestContext, body: Message, conn: ConnectionState): Message {
  if (conn.sasl.mechanism !== 'PLAIN') {
    return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: 'send SaslHandshake with mechanism PLAIN first', authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 };
  }
  const result = checkPlain(body.authBytes as Buffer, broker.sasl?.users ?? {});
  if ('error' in result) {
    broker.logger.warn({ reason: result.error }, 'SASL authentication failed');
    return { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: result.error, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 };
  }
  conn.principal = { name: `User:${result.user}` };
  conn.sasl.authenticated = true;
  return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 };
}
