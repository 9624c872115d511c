/**
 * Consumer instances: group consumption over HTTP, as Confluent's REST Proxy does it.
 *
 * A client creates an instance (the server keeps a BusConsumer for it), long-polls it for
 * records, commits, and deletes it. Because an HTTP client can vanish without saying goodbye,
 * an instance that sees no request for `idleTimeoutMs` is closed, which makes it leave its
 * group so the partitions go to the remaining members.
 *
 * Requests on one instance run one at a time (a BusConsumer is not safe for concurrent polls);
 * a delete does not wait: it closes the consumer at once, which ends a poll in progress.
 *
 * "Delivered" positions are tracked per partition: the offset after the last record a poll
 * answer carried. A commit without explicit offsets commits those, limited to the partitions
 * the instance still owns (after a rebalance, another member owns the rest).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bus, BusConsumer, ConsumedRecord, TopicPartition, TopicPartitionOffset } from '../bus/types.ts';
import { gauge } from '../monitor/metrics.ts';
import { HttpError } from './errors.ts';

export interface ConsumerInstanceSpec {
  /** Consumer group; without it the instance reads its partitions directly and cannot commit. */
  group?: string;
  /** Topics to subscribe to (with a group) or to read every partition of (without). */
  topics?: string[];
  /** Explicit partitions (and optional start offsets) instead of `topics`. */
  partitions?: Array<TopicPartition & { offset?: number }>;
  /** Start at the earliest offset when nothing is committed (default false: only new records). */
  fromBeginning?: boolean;
  clientId?: string;
}

export interface ConsumerInstanceInfo {
  id: string;
  group: string | null;
  topics: string[];
  clientId: string;
  createdAt: number;
  lastUsedAt: number;
  /** A request (a long poll, a commit) is running on the instance. */
  busy: boolean;
  assignment: TopicPartition[];
}

class Instance {
  readonly createdAt = Date.now();
  lastUsedAt = Date.now();
  /** Requests running or waiting; an instance with any is never expired. */
  active = 0;
  closed = false;
  private tail: Promise<void> = Promise.resolve();
  readonly delivered = new Map<string, TopicPartitionOffset>();

  constructor(
    readonly id: string,
    readonly consumer: BusConsumer,
    readonly group: string | null,
    readonly topics: string[],
    readonly clientId: string,
  ) {}

  /** Runs `fn` after every earlier request on this instance has finished. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.active++;
    this.lastUsedAt = Date.now();
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise((r) => (release = r));
    try {
      await prev;
      if (this.closed) throw unknownInstance(this.id);
      return await fn();
    } finally {
      this.active--;
      this.lastUsedAt = Date.now();
      release();
    }
  }

  info(): ConsumerInstanceInfo {
    let assignment: TopicPartition[] = [];
    try {
      assignment = this.consumer.assignment();
    } catch {
      // closed meanwhile
    }
    return {
      id: this.id,
      group: this.group,
      topics: this.topics,
      clientId: this.clientId,
      createdAt: this.createdAt,
      lastUsedAt: this.lastUsedAt,
      busy: this.active > 0,
      assignment,
    };
  }
}

function unknownInstance(id: string): HttpError {
  return new HttpError(
    'CONSUMER_UNKNOWN',
    `consumer instance ${id} does not exist (deleted, or expired after a time without requests): create a new one with POST /api/consumers`,
  );
}

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export interface ConsumerInstancesOptions {
  /** Close an instance after this long without a request (default 60 s). */
  idleTimeoutMs?: number;
  /** Upper bound on open instances (default 1000). */
  maxInstances?: number;
  logger?: Logger;
  registry?: Registry;
}

export class ConsumerInstances {
  readonly idleTimeoutMs: number;
  private readonly maxInstances: number;
  private readonly instances = new Map<string, Instance>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly logger: Logger | undefined;
  private readonly gauge;
  private closing = false;

  constructor(
    private readonly bus: Bus,
    opts: ConsumerInstancesOptions = {},
  ) {
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
    this.maxInstances = opts.maxInstances ?? 1000;
    this.logger = opts.logger;
    this.gauge = opts.registry
      ? gauge(opts.registry, { name: 'tributary_http_consumer_instances', help: 'Open consumer instances of the HTTP API.' })
      : null;
    this.sweeper = setInterval(() => void this.sweep(), Math.max(50, Math.min(5000, this.idleTimeoutMs / 4)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.instances.size;
  }

  async create(spec: ConsumerInstanceSpec): Promise<ConsumerInstanceInfo> {
    if (this.closing) throw new HttpError('SHUTTING_DOWN', 'the server is shutting down');
    if (this.instances.size >= this.maxInstances) {
      throw new HttpError('TOO_MANY_CONSUMERS', `${this.instances.size} consumer instances are open (the limit): delete unused ones, or wait for idle ones to expire`);
    }
    const id = randomUUID();
    const clientId = spec.clientId ?? `http-${id.slice(0, 8)}`;
    const consumer = this.bus.consumer({
      ...(spec.group !== undefined ? { groupId: spec.group } : {}),
      clientId,
      fromBeginning: spec.fromBeginning ?? false,
    });
    let topics: string[];
    try {
      if (spec.partitions && spec.partitions.length > 0) {
        consumer.assign(spec.partitions);
        topics = [...new Set(spec.partitions.map((p) => p.topic))];
      } else if (spec.group !== undefined) {
        topics = spec.topics ?? [];
        await consumer.subscribe(topics);
      } else {
        topics = spec.topics ?? [];
        const admin = this.bus.admin();
        const assignment: TopicPartition[] = [];
        for (const topic of topics) {
          const d = await admin.describeTopic(topic);
          for (const p of d.partitions) assignment.push({ topic, partition: p.partition });
        }
        consumer.assign(assignment);
      }
    } catch (err) {
      await consumer.close().catch(() => {});
      throw err;
    }
    const inst = new Instance(id, consumer, spec.group ?? null, topics, clientId);
    this.instances.set(id, inst);
    this.gauge?.set(this.instances.size);
    this.logger?.debug({ consumer: id, group: inst.group, topics }, 'consumer instance created');
    return inst.info();
  }

  private get(id: string): Instance {
    const inst = this.instances.get(id);
    if (!inst) throw unknownInstance(id);
    return inst;
  }

  info(id: string): ConsumerInstanceInfo {
    return this.get(id).info();
  }

  list(): ConsumerInstanceInfo[] {
    return [...this.instances.values()].map((i) => i.info());
  }

  /** Long-polls the instance; what it returns counts as delivered. */
  async poll(id: string, opts: { timeoutMs: number; maxRecords: number }): Promise<ConsumedRecord[]> {
    const inst = this.get(id);
    return inst.exclusive(async () => {
      let records: ConsumedRecord[];
      try {
        records = await inst.consumer.poll(opts);
      } catch (err) {
        if (inst.closed) throw unknownInstance(id);
        throw err;
      }
      if (inst.closed) throw unknownInstance(id);
      for (const r of records) {
        const key = tpKey(r.topic, r.partition);
        const prev = inst.delivered.get(key);
        if (!prev || prev.offset <= r.offset) inst.delivered.set(key, { topic: r.topic, partition: r.partition, offset: r.offset + 1 });
      }
      return records;
    });
  }

  /**
   * Commits `offsets` (next offset to read, per partition), or else the delivered positions of
   * the partitions the instance still owns. Returns what was committed.
   */
  async commit(id: string, offsets?: TopicPartitionOffset[]): Promise<TopicPartitionOffset[]> {
    const inst = this.get(id);
    if (inst.group === null) {
      throw new HttpError('CONSUMER_HAS_NO_GROUP', `consumer instance ${id} has no group, so there is nowhere to commit: create it with a "group"`);
    }
    return inst.exclusive(async () => {
      let toCommit: TopicPartitionOffset[];
      if (offsets) {
        toCommit = offsets;
      } else {
        const owned = new Set(inst.consumer.assignment().map((tp) => tpKey(tp.topic, tp.partition)));
        toCommit = [...inst.delivered.entries()].filter(([k]) => owned.has(k)).map(([, v]) => v);
      }
      if (toCommit.length > 0) await inst.consumer.commit(toCommit);
      return toCommit;
    });
  }

  /** Closes the instance (leaving its group); a poll in progress ends. */
  async delete(id: string): Promise<void> {
    const inst = this.get(id);
    this.instances.delete(id);
    this.gauge?.set(this.instances.size);
    inst.closed = true;
    await inst.consumer.close();
    this.logger?.debug({ consumer: id }, 'consumer instance deleted');
  }

  /** Closes instances idle for longer than the timeout. */
  async sweep(now = Date.now()): Promise<void> {
    const expired = [...this.instances.values()].filter((i) => i.active === 0 && now - i.lastUsedAt > this.idleTimeoutMs);
    await Promise.all(
      expired.map(async (inst) => {
        this.logger?.info({ consumer: inst.id, group: inst.group, idleMs: now - inst.lastUsedAt }, 'consumer instance expired');
        await this.delete(inst.id).catch((err) => this.logger?.warn({ err, consumer: inst.id }, 'closing an expired consumer instance failed'));
      }),
    );
  }

  /** Closes every instance; new ones are refused from now on. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    await Promise.all(
      [...this.instances.keys()].map((id) =>
        this.delete(id).catch((err) => this.logger?.warn({ err, consumer: id }, 'closing a consumer instance failed')),
      ),
    );
  }
}
