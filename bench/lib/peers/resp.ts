/**
 * A minimal RESP2 client for driving Redis at full speed: callers hand it pre-encoded command
 * bytes (a whole pipeline chunk at once) and the number of replies to expect. This is faster than
 * a general client (ioredis builds one Command object and promise per command), which keeps the
 * client from being the bottleneck of the Redis figures.
 *
 * The parser is incremental: finished items are never parsed twice, and only an unfinished item
 * is carried over to the next socket chunk, so a 10 MB XREADGROUP reply costs one pass.
 */
import net from 'node:net';
import { once } from 'node:events';

export class RespError extends Error {
  override readonly name = 'RespError';
}

export type Reply = Buffer | string | number | null | RespError | Reply[];

const CR = 13;

function parseIntAscii(buf: Buffer, start: number, end: number): number {
  let i = start;
  let neg = false;
  if (buf[i] === 45) {
    neg = true;
    i++;
  }
  let n = 0;
  for (; i < end; i++) n = n * 10 + (buf[i]! - 48);
  return neg ? -n : n;
}

interface Frame {
  items: Reply[];
  remaining: number;
}

export class RespParser {
  private rest: Buffer | null = null;
  private readonly stack: Frame[] = [];

  constructor(private readonly onReply: (reply: Reply) => void) {}

  feed(chunk: Buffer): void {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    const len = buf.length;
    let pos = 0;
    for (;;) {
      if (pos >= len) break;
      // Header line: type byte, then text up to CRLF (scanned by hand: Buffer.indexOf is a
      // native call, too slow five times per stream entry).
      let lineEnd = pos + 1;
      while (lineEnd < len && buf[lineEnd] !== CR) lineEnd++;
      if (lineEnd + 1 >= len) break;
      const type = buf[pos];
      let value: Reply;
      let next = lineEnd + 2;
      if (type === 36 /* $ */) {
        const n = parseIntAscii(buf, pos + 1, lineEnd);
        if (n < 0) value = null;
        else {
          if (next + n + 2 > len) break;
          value = buf.subarray(next, next + n);
          next += n + 2;
        }
      } else if (type === 42 /* * */) {
        const n = parseIntAscii(buf, pos + 1, lineEnd);
        if (n < 0) value = null;
        else if (n === 0) value = [];
        else {
          this.stack.push({ items: [], remaining: n });
          pos = next;
          continue;
        }
      } else if (type === 58 /* : */) {
        value = parseIntAscii(buf, pos + 1, lineEnd);
      } else if (type === 43 /* + */) {
        value = buf.toString('latin1', pos + 1, lineEnd);
      } else if (type === 45 /* - */) {
        value = new RespError(buf.toString('utf8', pos + 1, lineEnd));
      } else {
        throw new Error(`RESP protocol error: unexpected byte ${type} at ${pos}`);
      }
      pos = next;
      this.deliver(value);
    }
    this.rest = pos < len ? buf.subarray(pos) : null;
  }

  private deliver(value: Reply): void {
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (!top) {
        this.onReply(value);
        return;
      }
      top.items.push(value);
      if (--top.remaining > 0) return;
      this.stack.pop();
      value = top.items;
    }
  }
}

interface Pending {
  left: number;
  replies: Reply[] | null;
  error: RespError | null;
  resolve: (replies: Reply[]) => void;
  reject: (err: Error) => void;
}

/** Encodes one command as a RESP array of bulk strings. */
export function encodeCommand(args: Array<string | Buffer | number>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

export class RespConnection {
  private readonly pending: Pending[] = [];
  private head = 0;
  private failure: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    const parser = new RespParser((r) => this.onReply(r));
    socket.on('data', (chunk: Buffer) => {
      try {
        parser.feed(chunk);
      } catch (err) {
        this.fail(err as Error);
        socket.destroy();
      }
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('redis connection closed')));
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RespConnection> {
    const socket = net.connect({ port, host });
    socket.setNoDelay(true);
    await once(socket, 'connect');
    return new RespConnection(socket);
  }

  /**
   * Writes `payload` (one or more encoded commands) and resolves with their `replies` replies
   * (an empty list unless `collect`). Rejects if any reply is an error.
   */
  send(payload: Buffer, replies: number, collect = false): Promise<Reply[]> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Reply[]>((resolve, reject) => {
      this.pending.push({ left: replies, replies: collect ? [] : null, error: null, resolve, reject });
      this.socket.write(payload);
    });
  }

  async call(...args: Array<string | Buffer | number>): Promise<Reply> {
    const [reply] = await this.send(encodeCommand(args), 1, true);
    return reply!;
  }

  async close(): Promise<void> {
    if (this.socket.destroyed) return;
    this.socket.end();
    await once(this.socket, 'close');
  }

  private onReply(reply: Reply): void {
    const p = this.pending[this.head];
    if (!p) {
      this.fail(new Error('RESP reply without a pending request'));
      return;
    }
    if (reply instanceof RespError) p.error ??= reply;
    if (p.replies) p.replies.push(reply);
    if (--p.left > 0) return;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    if (p.error) p.reject(p.error);
    else p.resolve(p.replies ?? []);
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (let i = this.head; i < this.pending.length; i++) this.pending[i]!.reject(err);
    this.pending.length = 0;
    this.head = 0;
  }
}
