/**
 * A minimal Kafka producer speaking the wire protocol directly: one Produce request (v3,
 * acks=-1) per call, carrying one uncompressed record batch v2 for one partition, pipelined on
 * one connection (responses come back in request order). It exists to measure a broker's
 * acknowledgement latency without a client library's batching, timers and callback dispatch
 * in between: the time from writing a request until its response is read is the broker's.
 *
 * Independent of src/ on purpose (a benchmark client must not share the broker's codec): the
 * encoding follows Kafka's ProduceRequest v3 and RecordBatch v2 definitions.
 */
import { crc32c } from '@node-rs/crc32';
import { once } from 'node:events';
import net from 'node:net';

const PRODUCE = 0;
const PRODUCE_VERSION = 3;

function varintSize(v: number): number {
  let z = ((v << 1) ^ (v >> 31)) >>> 0;
  let n = 1;
  while (z >= 0x80) {
    z >>>= 7;
    n++;
  }
  return n;
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  let z = ((v << 1) ^ (v >> 31)) >>> 0;
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
  return pos;
}

/** An uncompressed record batch v2 (no producer id, no keys, no headers) holding `values`. */
export function encodeRecordBatch(values: readonly Buffer[], timestamp = Date.now()): Buffer {
  let recordsBytes = 0;
  const bodies = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // attributes(1) timestampDelta(varint 0 → 1) offsetDelta keyLength(-1 → 1) valueLength value headerCount(0 → 1)
    const body = 1 + 1 + varintSize(i) + 1 + varintSize(v.length) + v.length + 1;
    bodies[i] = body;
    recordsBytes += varintSize(body) + body;
  }
  const size = 61 + recordsBytes;
  const buf = Buffer.allocUnsafe(size);
  buf.writeBigInt64BE(0n, 0); // baseOffset (the broker assigns it)
  buf.writeInt32BE(size - 12, 8); // batchLength
  buf.writeInt32BE(-1, 12); // partitionLeaderEpoch
  buf.writeInt8(2, 16); // magic
  // crc at 17, written last
  buf.writeInt16BE(0, 21); // attributes: no compression, create time
  buf.writeInt32BE(values.length - 1, 23); // lastOffsetDelta
  buf.writeBigInt64BE(BigInt(timestamp), 27); // baseTimestamp
  buf.writeBigInt64BE(BigInt(timestamp), 35); // maxTimestamp
  buf.writeBigInt64BE(-1n, 43); // producerId
  buf.writeInt16BE(-1, 51); // producerEpoch
  buf.writeInt32BE(-1, 53); // baseSequence
  buf.writeInt32BE(values.length, 57); // records count
  let pos = 61;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    pos = writeVarint(buf, pos, bodies[i]!);
    buf[pos++] = 0; // attributes
    buf[pos++] = 0; // timestampDelta 0
    pos = writeVarint(buf, pos, i); // offsetDelta
    buf[pos++] = 1; // keyLength -1 (zigzag)
    pos = writeVarint(buf, pos, v.length);
    pos += v.copy(buf, pos);
    buf[pos++] = 0; // no headers
  }
  buf.writeUInt32BE(crc32c(buf.subarray(21)) >>> 0, 17);
  return buf;
}

interface Waiter {
  correlationId: number;
  resolve: (baseOffset: number) => void;
  reject: (err: Error) => void;
}

export class KafkaWireProducer {
  private correlationId = 0;
  private readonly waiters: Waiter[] = [];
  private head = 0;
  private rest: Buffer | null = null;
  private failure: Error | null = null;
  private readonly clientId = Buffer.from('tributary-bench-wire');

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('kafka connection closed')));
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<KafkaWireProducer> {
    const socket = net.connect({ port, host });
    socket.setNoDelay(true);
    await once(socket, 'connect');
    return new KafkaWireProducer(socket);
  }

  /**
   * Sends one Produce request (acks=-1: answered once the broker considers the batch durable)
   * with a pre-encoded record batch for `topic`/`partition`; resolves with the base offset.
   */
  produce(topic: string, partition: number, batch: Buffer, timeoutMs = 30_000): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    const correlationId = this.correlationId++;
    const topicBytes = Buffer.from(topic, 'utf8');
    // header: apiKey apiVersion correlationId clientId; body: transactionalId(null) acks timeout
    // [topic: name [partition: index records]]
    const headSize = 2 + 2 + 4 + 2 + this.clientId.length + 2 + 2 + 4 + 4 + 2 + topicBytes.length + 4 + 4 + 4;
    const head = Buffer.allocUnsafe(4 + headSize);
    let p = 0;
    head.writeInt32BE(headSize + batch.length, p); p += 4;
    head.writeInt16BE(PRODUCE, p); p += 2;
    head.writeInt16BE(PRODUCE_VERSION, p); p += 2;
    head.writeInt32BE(correlationId, p); p += 4;
    head.writeInt16BE(this.clientId.length, p); p += 2;
    p += this.clientId.copy(head, p);
    head.writeInt16BE(-1, p); p += 2; // transactionalId null
    head.writeInt16BE(-1, p); p += 2; // acks=all
    head.writeInt32BE(timeoutMs, p); p += 4;
    head.writeInt32BE(1, p); p += 4; // one topic
    head.writeInt16BE(topicBytes.length, p); p += 2;
    p += topicBytes.copy(head, p);
    head.writeInt32BE(1, p); p += 4; // one partition
    head.writeInt32BE(partition, p); p += 4;
    head.writeInt32BE(batch.length, p); p += 4;
    return new Promise<number>((resolve, reject) => {
      this.waiters.push({ correlationId, resolve, reject });
      this.socket.cork();
      this.socket.write(head);
      this.socket.write(batch);
      this.socket.uncork();
    });
  }

  async close(): Promise<void> {
    if (this.socket.destroyed) return;
    this.socket.end();
    await once(this.socket, 'close');
  }

  private onData(chunk: Buffer): void {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    let pos = 0;
    while (buf.length - pos >= 4) {
      const size = buf.readInt32BE(pos);
      if (buf.length - pos < 4 + size) break;
      this.onResponse(buf.subarray(pos + 4, pos + 4 + size));
      pos += 4 + size;
    }
    this.rest = pos < buf.length ? buf.subarray(pos) : null;
  }

  /** ProduceResponse v3: correlationId [topic: name [partition: index errorCode baseOffset logAppendTime]] throttle. */
  private onResponse(frame: Buffer): void {
    const w = this.waiters[this.head];
    if (!w) return this.fail(new Error('kafka response without a pending request'));
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.waiters.length) {
      this.waiters.splice(0, this.head);
      this.head = 0;
    }
    const correlationId = frame.readInt32BE(0);
    if (correlationId !== w.correlationId) {
      return this.fail(new Error(`response correlation id ${correlationId}, expected ${w.correlationId}`));
    }
    let p = 4;
    const topics = frame.readInt32BE(p); p += 4;
    if (topics !== 1) return w.reject(new Error(`produce response with ${topics} topics`));
    p += 2 + frame.readInt16BE(p);
    const partitions = frame.readInt32BE(p); p += 4;
    if (partitions !== 1) return w.reject(new Error(`produce response with ${partitions} partitions`));
    p += 4; // index
    const errorCode = frame.readInt16BE(p); p += 2;
    const baseOffset = Number(frame.readBigInt64BE(p));
    if (errorCode !== 0) w.reject(new Error(`produce failed with Kafka error code ${errorCode}`));
    else w.resolve(baseOffset);
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (let i = this.head; i < this.waiters.length; i++) this.waiters[i]!.reject(err);
    this.waiters.length = 0;
    this.head = 0;
    this.socket.destroy();
  }
}
