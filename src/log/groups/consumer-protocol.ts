/**
 * The "consumer" embedded protocol: the subscription a member sends in JoinGroup and the
 * assignment the leader hands out in SyncGroup (Kafka's ConsumerProtocolSubscription and
 * ConsumerProtocolAssignment, non-flexible encodings). In-process consumers use the same
 * bytes as Kafka clients, so both can share a group and `groups describe` can show anyone's
 * assignment. Newer versions only append fields, so unknown trailing bytes are ignored.
 */
import type { TopicPartition } from '../../bus/types.ts';

export interface Subscription {
  version: number;
  topics: string[];
  userData: Buffer | null;
  ownedPartitions: TopicPartition[];
  generationId: number;
  rackId: string | null;
}

export interface Assignment {
  version: number;
  partitions: TopicPartition[];
  userData: Buffer | null;
}

class Writer {
  private chunks: Buffer[] = [];
  int16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.chunks.push(b);
    return this;
  }
  int32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.chunks.push(b);
    return this;
  }
  string(s: string | null): this {
    if (s === null) return this.int16(-1);
    const b = Buffer.from(s, 'utf8');
    this.int16(b.length);
    this.chunks.push(b);
    return this;
  }
  bytes(b: Buffer | null): this {
    if (b === null) return this.int32(-1);
    this.int32(b.length);
    this.chunks.push(b);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError('consumer protocol data is truncated');
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  string(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  bytes(): Buffer | null {
    const n = this.int32();
    if (n < 0) return null;
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  array<T>(item: () => T): T[] {
    const n = this.int32();
    if (n < 0) return [];
    if (n > this.remaining) throw new RangeError('consumer protocol array count exceeds the data');
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item());
    return out;
  }
}

function writePartitions(w: Writer, parts: TopicPartition[]): void {
  const byTopic = groupByTopic(parts);
  w.int32(byTopic.size);
  for (const [topic, ps] of byTopic) {
    w.string(topic).int32(ps.length);
    for (const p of ps) w.int32(p);
  }
}

function readPartitions(r: Reader): TopicPartition[] {
  const out: TopicPartition[] = [];
  for (const t of r.array(() => ({ topic: r.string() ?? '', partitions: r.array(() => r.int32()) }))) {
    for (const p of t.partitions) out.push({ topic: t.topic, partition: p });
  }
  return out;
}

export function groupByTopic(parts: TopicPartition[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const { topic, partition } of parts) {
    const list = m.get(topic) ?? [];
    list.push(partition);
    m.set(topic, list);
  }
  for (const list of m.values()) list.sort((a, b) => a - b);
  return m;
}

export function encodeSubscription(s: { topics: string[]; userData?: Buffer | null; ownedPartitions?: TopicPartition[]; generationId?: number }): Buffer {
  const w = new Writer().int16(2);
  w.int32(s.topics.length);
  for (const t of s.topics) w.string(t);
  w.bytes(s.userData ?? null);
  writePartitions(w, s.ownedPartitions ?? []);
  w.int32(s.generationId ?? -1);
  return w.done();
}

export function decodeSubscription(buf: Buffer): Subscription {
  const r = new Reader(buf);
  const version = r.int16();
  const topics = r.array(() => r.string() ?? '');
  const userData = r.bytes();
  const ownedPartitions = version >= 1 && r.remaining > 0 ? readPartitions(r) : [];
  const generationId = version >= 2 && r.remaining >= 4 ? r.int32() : -1;
  const rackId = version >= 3 && r.remaining >= 2 ? r.string() : null;
  return { version, topics, userData, ownedPartitions, generationId, rackId };
}

export function encodeAssignment(a: { partitions: TopicPartition[]; userData?: Buffer | null }): Buffer {
  const w = new Writer().int16(0);
  writePartitions(w, a.partitions);
  w.bytes(a.userData ?? null);
  return w.done();
}

export function decodeAssignment(buf: Buffer): Assignment {
  if (buf.length === 0) return { version: 0, partitions: [], userData: null };
  const r = new Reader(buf);
  const version = r.int16();
  const partitions = readPartitions(r);
  const userData = r.remaining >= 4 ? r.bytes() : null;
  return { version, partitions, userData };
}
