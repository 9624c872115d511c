/** What every request handler gets: the log and coordinators, broker identity, the auth seam. */
import type { Logger } from 'pino';
import type { Log } from '../../log/log.ts';
import type { GroupCoordinator } from '../../log/groups/group-coordinator.ts';
import type { Message } from '../protocol/codec.ts';
import type { RequestHeaderValue } from '../protocol/headers.ts';
import type { ProducerIdAllocator } from '../../log/txn/producer-ids.ts';
import type { TransactionCoordinator } from '../../log/txn/transaction-coordinator.ts';
import type { SaslConfig } from './handlers/sasl.ts';

import type { Action, Governance, Principal, ResourceType } from '../../govern/index.ts';

export type { Action, Principal, ResourceType };

export interface BrokerContext {
  log: Log;
  groups: GroupCoordinator;
  producerIds: ProducerIdAllocator;
  txns: TransactionCoordinator;
  logger: Logger;
  nodeId: number;
  clusterId: string;
  /** Host and port clients should connect to (Metadata, FindCoordinator). */
  advertised: { host: string; port: number };
  autoCreateTopics: boolean;
  /** SASL mechanisms and PLAIN users; null = no authentication. */
  sasl: SaslConfig | null;
  /** The authorization and audit seam every request passes. */
  governance: Governance;
}

export interface RequestContext {
  header: RequestHeaderValue;
  principal: Principal;
  clientHost: string;
  /** Aborted when the connection closes (ends long polls). */
  signal: AbortSignal;
}

/** What a handler may change on its connection (SASL). */
export interface ConnectionState {
  principal: Principal;
  readonly sasl: { mechanism: string | null; authenticated: boolean };
}

/** A handler returns the response body, or `null` for requests that get no response (Produce acks=0). */
export type Handler = (broker: BrokerContext, req: RequestContext, body: Message, conn: ConnectionState) => Promise<Message | null> | Message | null;

export function allowed(broker: BrokerContext, req: RequestContext, action: Action, type: ResourceType, name: string): boolean {
  return broker.governance.check(req.principal, action, { type, name }, 'kafka');
}
