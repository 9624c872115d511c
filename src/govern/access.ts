/**
 * The governance seam: every read or write of a topic or table, from every entry point (Kafka
 * request, HTTP call, SQL statement, task), passes one `authorize` and one `audit` call. In dev
 * mode (the default) everything is allowed and audit events are kept in a bounded in-memory
 * ring; grants and a durable audit log fill this seam later without touching the call sites.
 */
import { TributaryError } from '../util/errors.ts';

export interface Principal {
  /** `User:<name>`, `Service:<part>` for Tributary's own parts, `User:ANONYMOUS` without authentication. */
  name: string;
}

export type Action = 'read' | 'write' | 'create' | 'delete' | 'alter' | 'describe' | 'execute';
export type ResourceType = 'topic' | 'group' | 'cluster' | 'table' | 'model' | 'dag' | 'connector' | 'stream';

export interface Resource {
  type: ResourceType;
  name: string;
}

export interface AuditEvent {
  time: number;
  principal: string;
  action: Action;
  resource: Resource;
  allowed: boolean;
  /** Where the request came from: `kafka`, `http`, `sql`, `flow`, `task`, … */
  via: string;
  /** Who exactly, when the entry point knows more than `via` (a task's DAG, task and run ids). */
  detail?: Record<string, string | number>;
}

export class AccessDeniedError extends TributaryError {
  constructor(principal: Principal, action: Action, resource: Resource) {
    super('ACCESS_DENIED', `${principal.name} may not ${action} ${resource.type} ${resource.name}: ask an administrator for a grant`, {
      httpStatus: 403,
      kafkaCode: resource.type === 'group' ? 30 : resource.type === 'cluster' ? 31 : 29,
    });
    this.name = 'AccessDeniedError';
  }
}

export type AuthorizeFn = (principal: Principal, action: Action, resource: Resource) => boolean;

export const ANONYMOUS: Principal = { name: 'User:ANONYMOUS' };

export function servicePrincipal(part: string): Principal {
  return { name: `Service:${part}` };
}

export class Governance {
  /** A circular buffer of the last `ringSize` events (next write at `head`). */
  private readonly ring: AuditEvent[] = [];
  private head = 0;
  private readonly listeners = new Set<(e: AuditEvent) => void>();

  constructor(
    private readonly authorizeFn: AuthorizeFn = () => true,
    private readonly ringSize = 10_000,
  ) {}

  /** True when allowed; records the decision either way. */
  check(principal: Principal, action: Action, resource: Resource, via: string, detail?: Record<string, string | number>): boolean {
    const allowed = this.authorizeFn(principal, action, resource);
    this.audit({ time: Date.now(), principal: principal.name, action, resource, allowed, via, ...(detail ? { detail } : {}) });
    return allowed;
  }

  /** Throws AccessDeniedError when not allowed. */
  authorize(principal: Principal, action: Action, resource: Resource, via: string, detail?: Record<string, string | number>): void {
    if (!this.check(principal, action, resource, via, detail)) throw new AccessDeniedError(principal, action, resource);
  }

  audit(event: AuditEvent): void {
    if (this.ring.length < this.ringSize) this.ring.push(event);
    else this.ring[this.head] = event;
    this.head = (this.head + 1) % this.ringSize;
    for (const l of this.listeners) l(event);
  }

  /** The most recent audit events, newest last. */
  recent(limit = 100): AuditEvent[] {
    const ordered = this.ring.length < this.ringSize ? this.ring : [...this.ring.slice(this.head), ...this.ring.slice(0, this.head)];
    return ordered.slice(-limit);
  }

  onAudit(listener: (e: AuditEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
