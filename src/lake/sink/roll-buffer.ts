/**
 * What the sink collects between two commits: the accepted records as JSON lines, each line
 * tagged with the index of its partition (`{"__tributary_part":3,` + the record's own fields), so
 * one DuckDB `COPY … PARTITION_BY` turns the whole roll into one Parquet file per partition.
 *
 * The lines live in fixed-size chunks taken from a `ChunkPool` and given back to it once the
 * roll is committed. Growing one buffer by doubling copied every byte again at each step into
 * fresh (page-faulting) memory, and that copying was the second-largest cost of the sink's hot
 * path after JSON.parse; reused chunks are already mapped, and a line is copied exactly once.
 */
import type { ConsumedRecord } from '../../bus/types.ts';
import type { PartitionValues } from '../types.ts';

/** The column the partition index travels in (not stored in the files). */
export const PART_COLUMN = '__tributary_part';

export interface RollPartition {
  index: number;
  values: PartitionValues;
  bytes: number;
  rows: number;
}

/** Largest chunk size of a pool (a longer line gets a chunk of its own, not pooled). */
export const CHUNK_BYTES = 4 * 1024 * 1024;

/** Chunks handed back by committed rolls, reused by the next ones (bounded). */
export class ChunkPool {
  private readonly free: Buffer[] = [];
  constructor(
    readonly chunkBytes = CHUNK_BYTES,
    private readonly maxChunks = 64,
  ) {}
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.chunkBytes);
  }
  give(chunks: Buffer[]): void {
    for (const c of chunks) if (c.length === this.chunkBytes && this.free.length < this.maxChunks) this.free.push(c);
  }
  clear(): void {
    this.free.length = 0;
  }
}

export class RollBuffer {
  /** Filled chunks (each used up to `used[i]`), the last one being filled. */
  private readonly chunks: Buffer[] = [];
  private readonly used: number[] = [];
  private cur: Buffer | null = null;
  private pos = 0;
  /** Total bytes of all lines. */
  private len = 0;
  /** Logical end offset (after the newline, over all chunks) of each record's line. */
  readonly ends: number[] = [];
  /**
   * Where each record came from. The records themselves are not kept: holding half a million
   * record objects until the roll is written would move them all into the old generation and
   * make every garbage collection slow. A record the writer rejects is read again from the topic.
   */
  private readonly srcTopic: number[] = [];
  private readonly srcPartition: number[] = [];
  private readonly srcOffset: number[] = [];
  private readonly topics: string[] = [];
  /** Partition index of each record. */
  readonly parts: number[] = [];
  readonly partitions: RollPartition[] = [];
  private readonly byKey = new Map<string, RollPartition>();
  private readonly prefixes: Buffer[] = [];
  /** Bytes of the largest partition (the file-size roll trigger). */
  largest = 0;

  constructor(private readonly pool: ChunkPool = new ChunkPool(64 * 1024, 0)) {}

  get bytes(): number {
    return this.len;
  }
  get size(): number {
    return this.ends.length;
  }

  /** Makes room for a line of `n` bytes in the current chunk (lines never span chunks). */
  private room(n: number): Buffer {
    if (this.cur && this.pos + n <= this.cur.length) return this.cur;
    if (this.cur) this.used[this.used.length - 1] = this.pos;
    const next = n <= this.pool.chunkBytes ? this.pool.take() : Buffer.allocUnsafe(n);
    this.chunks.push(next);
    this.used.push(0);
    this.cur = next;
    this.pos = 0;
    return next;
  }

  private partition(key: string, values: PartitionValues): RollPartition {
    let p = this.byKey.get(key);
    if (!p) {
      p = { index: this.partitions.length, values, bytes: 0, rows: 0 };
      this.partitions.push(p);
      this.byKey.set(key, p);
      this.prefixes.push(Buffer.from(`{"${PART_COLUMN}":${p.index}`));
    }
    return p;
  }

  /**
   * Adds a record whose value is a JSON object (checked by the caller). `breaks`: whether the
   * value holds a line break, when the caller already knows (else it is looked for). `meta` is
   * more `"key":value` pairs to put first (the metadata columns), without braces or commas.
   */
  add(record: ConsumedRecord, value: Buffer, partKey: string, values: PartitionValues, meta?: string, breaks?: boolean): void {
    const p = this.partition(partKey, values);
    const brace = value.indexOf(123); // '{'
    let i = brace + 1;
    while (i < value.length && (value[i] === 32 || value[i] === 9 || value[i] === 10 || value[i] === 13)) i++;
    const empty = value[i] === 125; // '}'
    const prefix = this.prefixes[p.index]!;
    const metaBytes = meta ? Buffer.byteLength(meta) + 1 : 0;
    const need = prefix.length + metaBytes + 1 + value.length - brace + 1;
    const buf = this.room(need);
    let at = this.pos;
    const start = at;
    buf.set(prefix, at);
    at += prefix.length;
    if (meta) {
      buf[at++] = 44; // ','
      at += buf.write(meta, at);
    }
    const body = at;
    if (brace === 0 && !empty) {
      // The usual case: copy the whole value and turn its '{' into the ',' after the prefix.
      buf.set(value, at);
      buf[at] = 44;
      at += value.length;
    } else {
      if (!empty) buf[at++] = 44;
      const tail = value.subarray(brace + 1);
      buf.set(tail, at);
      at += tail.length;
    }
    if (breaks ?? (value.indexOf(10) >= 0 || value.indexOf(13) >= 0)) {
      // A newline outside a JSON string is whitespace (inside one it must be escaped): blank it so the record stays one line.
      for (let k = body; k < at; k++) {
        const c = buf[k]!;
        if (c === 10 || c === 13) buf[k] = 32;
      }
    }
    buf[at++] = 10;
    const lineBytes = at - start;
    this.pos = at;
    this.len += lineBytes;
    this.ends.push(this.len);
    let t = this.topics.indexOf(record.topic);
    if (t < 0) t = this.topics.push(record.topic) - 1;
    this.srcTopic.push(t);
    this.srcPartition.push(record.partition);
    this.srcOffset.push(record.offset);
    this.parts.push(p.index);
    p.rows++;
    p.bytes += lineBytes;
    if (p.bytes > this.largest) this.largest = p.bytes;
  }

  /** Topic, partition and offset of record `i`. */
  source(i: number): { topic: string; partition: number; offset: number } {
    return { topic: this.topics[this.srcTopic[i]!]!, partition: this.srcPartition[i]!, offset: this.srcOffset[i]! };
  }

  /** The JSON lines of records `from` (inclusive) to `to` (exclusive), as slices of the chunks (no copy). */
  slices(from = 0, to = this.ends.length): Buffer[] {
    if (this.cur) this.used[this.used.length - 1] = this.pos;
    let start = from === 0 ? 0 : this.ends[from - 1]!;
    let end = to === 0 ? 0 : this.ends[to - 1]!;
    const out: Buffer[] = [];
    for (let c = 0; c < this.chunks.length && end > 0; c++) {
      const used = this.used[c]!;
      if (start < used) out.push(this.chunks[c]!.subarray(start, Math.min(used, end)));
      start = Math.max(0, start - used);
      end -= used;
    }
    return out;
  }

  /** The same lines in one buffer (a copy). */
  lines(from = 0, to = this.ends.length): Buffer {
    return Buffer.concat(this.slices(from, to));
  }

  /** Gives the chunks back to the pool; the buffer must not be used afterwards. */
  release(): void {
    this.pool.give(this.chunks);
    this.chunks.length = 0;
    this.used.length = 0;
    this.cur = null;
  }
}
