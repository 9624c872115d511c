/**
 * The bus: the one interface every part of Tributary uses to produce and consume.
 *
 * Two implementations: `EmbeddedBus` over the in-process log (default), and (later) an external
 * Kafka cluster. Nothing outside `bus/` may assume which one it has.
 */
import type { LogRecord, ProduceRecord, TopicConfig, TopicDescription } from '../log/types.ts';

export type { LogRecord, ProduceRecord, TopicConfig, TopicDescription };

export interface ProducerRecord extends ProduceRecord {
  /** Explicit partition; otherwise murmur2(key) % partitions, or sticky for null keys. */
  partition?: number;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
}

export interface ProducerOptions {
  /** How long a batch waits for more records before it is appended (default 5 ms). */
  lingerMs?: number;
  /** A partition's batch is appended as soon as it reaches this many bytes (default 1 MiB). */
  batchBytes?: number;
}

export interface BusProducer {
  /** Resolves once every record is acknowledged (durable per the topic's ack policy). */
  send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]>;
  /** Appends every lingering batch now and waits for their acknowledgements. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A producer whose writes become visible atomically, together with consumer offsets
 * (Kafka transactions): the basis of exactly-once read-process-write. A new instance with the
 * same `transactionalId` fences the old one and aborts what it left open.
 */
export interface TransactionalProducer {
  readonly transactionalId: string;
  beginTransaction(): Promise<void>;
  /** Records sent inside the open transaction; invisible to read_committed consumers until commit. */
  send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]>;
  /** Commits these group offsets (next offset to read) as part of the transaction. */
  sendOffsets(groupId: string, offsets: TopicPartitionOffset[]): Promise<void>;
  commitTransaction(): Promise<void>;
  abortTransaction(): Promise<void>;
  close(): Promise<void>;
}

export interface TransactionalProducerOptions {
  transactionalId: string;
  /** An open transaction older than this is aborted by the coordinator (default 60 s). */
  transactionTimeoutMs?: number;
}

export interface ConsumedRecord extends LogRecord {
  topic: string;
  partition: number;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  offset: number;
}

export interface ConsumerOptions {
  /** Consumer group; without it, use `assign()` and no offsets are committed. */
  groupId?: string;
  clientId?: string;
  /** Where to start when the group has no committed offset: earliest (true) or latest (false, default). */
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** Stable member identity (Kafka's group.instance.id): a restart within the session timeout keeps the assignment. */
  groupInstanceId?: string;
  /** Upper bound of records one poll returns (default 10 000). */
  maxPollRecords?: number;
  /** `read_committed` hides records of open and aborted transactions (default `read_uncommitted`). */
  isolationLevel?: 'read_uncommitted' | 'read_committed';
}

export interface BusConsumer {
  /** Joins the group and subscribes to the topics (needs `groupId`). */
  subscribe(topics: string[]): Promise<void>;
  /** Reads the given partitions directly, without a group. Offsets default to `fromBeginning` semantics. */
  assign(partitions: Array<TopicPartition & { offset?: number }>): void;
  /** Waits up to `timeoutMs` for records; returns what is available (possibly none). */
  poll(opts?: { timeoutMs?: number; maxRecords?: number }): Promise<ConsumedRecord[]>;
  /** Commits the given offsets (next offset to read), or the positions after the last poll. */
  commit(offsets?: TopicPartitionOffset[]): Promise<void>;
  seek(topic: string, partition: number, offset: number): void;
  assignment(): TopicPartition[];
  /** Leaves the group (triggering a rebalance for the others) and stops. */
  close(): Promise<void>;
}

export type AckKind = 'accept' | 'release' | 'reject';

export interface SharedRecord extends ConsumedRecord {
  /** 1 on first delivery; grows on every redelivery. */
  deliveryCount: number;
}

export interface ShareConsumerOptions {
  groupId: string;
  clientId?: string;
  /** How long a delivered record stays locked to this member before it is offered again (default 30 s). */
  lockTimeoutMs?: number;
  /** Deliveries after which a record goes to the dead-letter topic (default 5). */
  maxDeliveries?: number;
  /** Dead-letter topic (default `<groupId>.dlq`). */
  deadLetterTopic?: string;
  /** A new group starts at the earliest record (default true: queue semantics) or at the end. */
  fromBeginning?: boolean;
}

/**
 * Queue semantics (Kafka share groups, SQS): records are handed out one by one, each is
 * acknowledged individually, redelivered after its lock times out, and moved to the group's
 * dead-letter topic after too many deliveries.
 */
export interface BusShareConsumer {
  subscribe(topics: string[]): Promise<void>;
  poll(opts?: { timeoutMs?: number; maxRecords?: number }): Promise<SharedRecord[]>;
  /** accept = done; release = hand it out again now; reject = never deliver again (dead-letter). */
  acknowledge(record: SharedRecord, kind?: AckKind): Promise<void>;
  close(): Promise<void>;
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  assignment: TopicPartition[];
}

export interface GroupOffsetDescription extends TopicPartition {
  committedOffset: number | null;
  logEndOffset: number;
  /** Records between the committed offset and the high watermark. */
  lag: number | null;
}

export interface GroupSummary {
  groupId: string;
  state: string;
  protocolType: string;
  members: number;
}

export interface GroupDescription extends GroupSummary {
  protocol: string;
  generationId: number;
  memberDetails: GroupMemberDescription[];
  offsets: GroupOffsetDescription[];
}

export interface BusAdmin {
  createTopic(name: string, config?: Partial<TopicConfig>): Promise<TopicDescription>;
  deleteTopic(name: string): Promise<void>;
  /** Internal topics (`__…`) only when asked. */
  listTopics(opts?: { includeInternal?: boolean }): Promise<TopicDescription[]>;
  describeTopic(name: string): Promise<TopicDescription>;
  listGroups(): Promise<GroupSummary[]>;
  describeGroup(groupId: string): Promise<GroupDescription>;
}

export interface Bus {
  readonly kind: 'embedded' | 'external';
  admin(): BusAdmin;
  producer(opts?: ProducerOptions): BusProducer;
  consumer(opts?: ConsumerOptions): BusConsumer;
  shareConsumer(opts: ShareConsumerOptions): BusShareConsumer;
  /** Transactions: exactly-once on the embedded log; may be unsupported on an external cluster (BusError UNSUPPORTED). */
  transactionalProducer(opts: TransactionalProducerOptions): TransactionalProducer;
  close(): Promise<void>;
}
