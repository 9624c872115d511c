/**
 * What the sink collects between two commits: the accepted records as JSON lines in one
 * growing buffer, each line tagged with the index of its partition (`{"__tributary_part":3,` +
 * the record's own fields), so one DuckDB `COPY … PARTITION_BY` turns the whole roll into one
 * Parquet file per partition.
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

export class RollBuffer {
  private buf: Buffer = Buffer.allocUnsafe(1 << 20);
  private len = 0;
  /** End offset (after the newline) of each record's line. */
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

  get bytes(): number {
    return this.len;
  }
  get size(): number {
    return this.ends.length;
  }

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + extra));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
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
   * Adds a record whose value is a JSON object (checked by the caller). `meta` is more
   * `"key":value` pairs to put first (the metadata columns), without braces or commas.
   */
  add(record: ConsumedRecord, value: Buffer, partKey: string, values: PartitionValues, meta?: string): void {
    const p = this.partition(partKey, values);
    const start = this.len;
    const brace = value.indexOf(123); // '{'
    let i = brace + 1;
    while (i < value.length && (value[i] === 32 || value[i] === 9 || value[i] === 10 || value[i] === 13)) i++;
    const empty = value[i] === 125; // '}'
    const prefix = this.prefixes[p.index]!;
    const metaBytes = meta ? Buffer.byteLength(meta) + 1 : 0;
    this.ensure(prefix.length + metaBytes + 1 + value.length - brace + 1);
    prefix.copy(this.buf, this.len);
    this.len += prefix.length;
    if (meta) {
      this.buf[this.len++] = 44; // ','
      this.len += this.buf.write(meta, this.len);
    }
    if (!empty) this.buf[this.len++] = 44;
    const body = this.len;
    this.len += value.copy(this.buf, this.len, brace + 1);
    if (value.indexOf(10) >= 0 || value.indexOf(13) >= 0) {
      // A newline outside a JSON string is whitespace (inside one it must be escaped): blank it so the record stays one line.
      for (let k = body; k < this.len; k++) {
        const c = this.buf[k]!;
        if (c === 10 || c === 13) this.buf[k] = 32;
      }
    }
    this.buf[this.len++] = 10;
    this.ends.push(this.len);
    let t = this.topics.indexOf(record.topic);
    if (t < 0) t = this.topics.push(record.topic) - 1;
    this.srcTopic.push(t);
    this.srcPartition.push(record.partition);
    this.srcOffset.push(record.offset);
    this.parts.push(p.index);
    p.rows++;
    p.bytes += this.len - start;
    if (p.bytes > this.largest) this.largest = p.bytes;
  }

  /** Topic, partition and offset of record `i`. */
  source(i: number): { topic: string; partition: number; offset: number } {
    return { topic: this.topics[this.srcTopic[i]!]!, partition: this.srcPartition[i]!, offset: this.srcOffset[i]! };
  }

  /** The JSON lines of records `from` (inclusive) to `to` (exclusive). */
  lines(from = 0, to = this.ends.length): Buffer {
    const start = from === 0 ? 0 : this.ends[from - 1]!;
    const end = to === 0 ? 0 : this.ends[to - 1]!;
    return this.buf.subarray(start, end);
  }
}
