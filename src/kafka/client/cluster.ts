/**
 * One connection to an external Kafka cluster, over `@platformatic/kafka`.
 *
 * The library's Admin and Producer are used as they are; the consumer side of the bus needs
 * more control than the library's stream consumer gives (poll-driven fetches, positions, when
 * a rebalance happens), so this class also offers the protocol requests themselves: `request()`
 * sends one API to one broker, at the highest version both the library and the broker speak,
 * and hands back the response even when it carries error codes, for the caller to read them.
 *
 * Metadata (brokers, topic ids, partition leaders) and group coordinators are cached and
 * refreshed when a response says they moved.
 */
import { Admin, ConnectionPool, kGetApi, type Broker, type Connection, type ConnectionOptions } from '@platformatic/kafka';
import { LogError } from '../../log/errors.ts';
import { bootstrapAddresses, tlsOptions, type ExternalClusterConfig } from './config.ts';
import { errorForKafkaCode, KafkaClientError, KafkaCode, translateKafkaError } from './errors.ts';

export interface PartitionMetadata {
  partition: number;
  leader: number;
  leaderEpoch: number;
}

export interface TopicMetadata {
  name: string;
  id: string;
  internal: boolean;
  partitions: PartitionMetadata[];
}

type ApiFunction = ((connection: Connection, ...args: unknown[]) => void) & {
  async: (connection: Connection, ...args: unknown[]) => Promise<unknown>;
  version: number;
};

const TOPIC_METADATA_MAX_AGE_MS = 5000;

export class KafkaCluster {
  readonly clientId: string;
  /** The library's admin client; its connection pool also carries metadata and offset lookups. */
  readonly admin: Admin;
  private readonly bootstrap: Broker[];
  private readonly brokers = new Map<number, Broker>();
  private readonly topics = new Map<string, { meta: TopicMetadata; at: number }>();
  private readonly coordinators = new Map<string, Promise<Broker>>();
  private readonly pools = new Set<ConnectionPool>();
  private closed = false;

  constructor(readonly config: ExternalClusterConfig) {
    this.clientId = config.clientId ?? 'tributary';
    this.bootstrap = bootstrapAddresses(config);
    this.admin = new Admin({ ...this.clientOptions(), retries: 2, retryDelay: 200 });
  }

  /** Connection settings (TLS, SASL, timeouts) for any client or pool of this cluster. */
  connectionOptions(): ConnectionOptions {
    const { config } = this;
    const tls = tlsOptions(config.ssl);
    const out: ConnectionOptions = {
      connectTimeout: config.connectTimeoutMs ?? 10_000,
      requestTimeout: config.requestTimeoutMs ?? 30_000,
    };
    if (tls) {
      out.tls = tls;
      out.tlsServerName = tls.servername ?? true;
    }
    if (config.sasl) out.sasl = { mechanism: config.sasl.mechanism, username: config.sasl.username, password: config.sasl.password };
    return out;
  }

  /** Options for one of the library's clients (Admin, Producer). */
  clientOptions() {
    return { ...this.connectionOptions(), clientId: this.clientId, bootstrapBrokers: this.bootstrap, timeout: this.config.requestTimeoutMs ?? 30_000 };
  }

  /** A separate set of connections (e.g. for long-polling fetches that must not delay heartbeats), sending `clientId`. */
  createPool(clientId = this.clientId, opts: { minRequestTimeoutMs?: number } = {}): ConnectionPool {
    const options = { ...this.connectionOptions(), maxInflights: 5 };
    if (opts.minRequestTimeoutMs !== undefined) options.requestTimeout = Math.max(options.requestTimeout ?? 0, opts.minRequestTimeoutMs);
    const pool = new ConnectionPool(clientId, options);
    this.pools.add(pool);
    return pool;
  }

  async closePool(pool: ConnectionPool): Promise<void> {
    this.pools.delete(pool);
    await pool.close().catch(() => {});
  }

  private async api(name: string): Promise<ApiFunction> {
    const admin = this.admin as unknown as Record<symbol, (name: string, cb: (err: Error | null, api?: ApiFunction) => void) => void>;
    return new Promise((resolve, reject) => {
      admin[kGetApi]!.call(this.admin, name, (err, api) => (err || !api ? reject(err ?? new Error(`no ${name} API`)) : resolve(api)));
    });
  }

  /**
   * Sends one request to one broker. A response with error codes in it is returned (not
   * thrown) when `allowErrors` is set, for the caller to read the codes per partition.
   */
  async request<R>(name: string, target: Broker | number, args: unknown[], opts: { pool?: ConnectionPool; allowErrors?: boolean } = {}): Promise<R> {
    this.assertOpen();
    const broker = typeof target === 'number' ? await this.broker(target) : target;
    const api = await this.api(name);
    const pool = opts.pool ?? this.admin.connections;
    const connection = await pool.get(broker);
    try {
      return (await api.async(connection, ...args)) as R;
    } catch (err) {
      const response = (err as { response?: unknown }).response;
      if (opts.allowErrors && response && typeof response === 'object') return response as R;
      throw err;
    }
  }

  /** Sends a request to any broker (bootstrap ones first). */
  private async anyBrokerRequest<R>(name: string, args: unknown[], allowErrors: boolean): Promise<R> {
    this.assertOpen();
    const api = await this.api(name);
    const connection = await this.admin.connections.getFirstAvailable([...this.bootstrap, ...this.brokers.values()]);
    try {
      return (await api.async(connection, ...args)) as R;
    } catch (err) {
      const response = (err as { response?: unknown }).response;
      if (allowErrors && response && typeof response === 'object') return response as R;
      throw err;
    }
  }

  /**
   * Metadata for the given topics (null: all), refreshing the broker list. Topics the cluster
   * does not know come back as their error code.
   */
  async metadata(names: string[] | null, autoCreate = false): Promise<Map<string, TopicMetadata | { errorCode: number }>> {
    interface RawTopic {
      errorCode: number;
      name: string | null;
      topicId: string;
      isInternal: boolean;
      partitions: Array<{ errorCode: number; partitionIndex: number; leaderId: number; leaderEpoch: number }>;
    }
    let response: { brokers: Array<{ nodeId: number; host: string; port: number }>; topics: RawTopic[] };
    try {
      response = await this.anyBrokerRequest('Metadata', [names === null ? null : [...names], autoCreate, false], true);
    } catch (err) {
      throw translateKafkaError(err, 'reading cluster metadata');
    }
    for (const b of response.brokers) this.brokers.set(b.nodeId, { host: b.host, port: b.port });
    const out = new Map<string, TopicMetadata | { errorCode: number }>();
    const now = Date.now();
    for (const t of response.topics) {
      if (t.name === null) continue;
      if (t.errorCode !== KafkaCode.NONE) {
        out.set(t.name, { errorCode: t.errorCode });
        this.topics.delete(t.name);
        continue;
      }
      const partitions = t.partitions
        .map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, leaderEpoch: p.leaderEpoch }))
        .sort((a, b) => a.partition - b.partition);
      const meta: TopicMetadata = { name: t.name, id: t.topicId, internal: t.isInternal, partitions };
      out.set(t.name, meta);
      this.topics.set(t.name, { meta, at: now });
    }
    return out;
  }

  /**
   * One topic's metadata, from the cache when fresh. Throws LogError TOPIC_UNKNOWN when the
   * cluster does not have it (after asking to create it when `autoCreate`).
   */
  async topic(name: string, opts: { autoCreate?: boolean; refresh?: boolean } = {}): Promise<TopicMetadata> {
    const cached = this.topics.get(name);
    if (cached && !opts.refresh && Date.now() - cached.at < TOPIC_METADATA_MAX_AGE_MS) return cached.meta;
    // A topic created a moment ago may have no leader yet: ask again briefly.
    for (let attempt = 0; ; attempt++) {
      const found = (await this.metadata([name], opts.autoCreate ?? false)).get(name);
      if (found && 'partitions' in found && found.partitions.every((p) => p.leader >= 0)) return found;
      const code = found && 'errorCode' in found ? found.errorCode : KafkaCode.LEADER_NOT_AVAILABLE;
      const transient = code === KafkaCode.LEADER_NOT_AVAILABLE || code === KafkaCode.NOT_LEADER_OR_FOLLOWER || (code === KafkaCode.UNKNOWN_TOPIC_OR_PARTITION && opts.autoCreate);
      if (!transient || attempt >= 20) {
        if (code === KafkaCode.UNKNOWN_TOPIC_OR_PARTITION) {
          throw new LogError('TOPIC_UNKNOWN', `topic ${name} does not exist in the external cluster: create it first (tributary topics create ${name}) or enable auto-creation`);
        }
        throw errorForKafkaCode(code, `looking up topic ${name}`);
      }
      await sleep(Math.min(50 * (attempt + 1), 500));
    }
  }

  /** The cached metadata of a topic, if any (no request). */
  cachedTopic(name: string): TopicMetadata | undefined {
    return this.topics.get(name)?.meta;
  }

  forgetTopic(name: string): void {
    this.topics.delete(name);
  }

  async broker(nodeId: number): Promise<Broker> {
    let b = this.brokers.get(nodeId);
    if (!b) {
      await this.metadata([]);
      b = this.brokers.get(nodeId);
    }
    if (!b) throw new KafkaClientError('BROKER_UNAVAILABLE', `broker ${nodeId} is not in the cluster's metadata`, { retriable: true });
    return b;
  }

  /** Every broker of the cluster (from fresh metadata). */
  async allBrokers(): Promise<Broker[]> {
    await this.metadata([]);
    return [...this.brokers.values()];
  }

  /** The broker coordinating a consumer group (cached until `forgetCoordinator`). */
  coordinator(groupId: string): Promise<Broker> {
    let p = this.coordinators.get(groupId);
    if (!p) {
      p = this.findCoordinator(groupId);
      this.coordinators.set(groupId, p);
      p.catch(() => this.coordinators.delete(groupId));
    }
    return p;
  }

  forgetCoordinator(groupId: string): void {
    this.coordinators.delete(groupId);
  }

  private async findCoordinator(groupId: string): Promise<Broker> {
    for (let attempt = 0; ; attempt++) {
      let res: { coordinators: Array<{ key: string; nodeId: number; host: string; port: number; errorCode: number; errorMessage: string | null }> };
      try {
        res = await this.anyBrokerRequest('FindCoordinator', [0, [groupId]], true);
      } catch (err) {
        throw translateKafkaError(err, `finding the coordinator of group ${groupId}`);
      }
      const c = res.coordinators.find((x) => x.key === groupId) ?? res.coordinators[0];
      if (c && c.errorCode === KafkaCode.NONE) return { host: c.host, port: c.port };
      const code = c?.errorCode ?? KafkaCode.COORDINATOR_NOT_AVAILABLE;
      if ((code !== KafkaCode.COORDINATOR_NOT_AVAILABLE && code !== KafkaCode.COORDINATOR_LOAD_IN_PROGRESS) || attempt >= 20) {
        throw errorForKafkaCode(code, `finding the coordinator of group ${groupId}`, c?.errorMessage);
      }
      await sleep(100);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new KafkaClientError('BROKER_UNAVAILABLE', 'the connection to the external cluster is closed');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const pool of [...this.pools]) await this.closePool(pool);
    await this.admin.close().catch(() => {});
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
