/**
 * The logical replication protocol, pure: CopyData frames of a replication connection
 * (XLogData 'w', primary keepalive 'k'), the standby status update we send back ('r'), and the
 * messages of the `pgoutput` plugin, protocol version 1 (Begin, Commit, Origin, Relation, Type,
 * Insert, Update, Delete, Truncate, Message). LSNs are bigints; `formatLsn` gives the "X/Y" form.
 * Column values arrive as text (or null, or "unchanged TOAST"); `decodeText` turns them into JSON
 * values by type.
 */

export type Lsn = bigint;

export function parseLsn(s: string): Lsn {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(s.trim());
  if (!m) throw new Error(`not an LSN: ${JSON.stringify(s)} (expected "X/Y" in hex)`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
const PG_EPOCH_US = 946_684_800_000_000n;

export function pgTimeToMillis(us: bigint): number {
  return Number((us + PG_EPOCH_US) / 1000n);
}

export function millisToPgTime(ms: number): bigint {
  return BigInt(ms) * 1000n - PG_EPOCH_US;
}

// ---- frames of the replication stream ---------------------------------------------------------

export type ReplicationFrame =
  | { type: 'xlog'; walStart: Lsn; walEnd: Lsn; sendTime: bigint; data: Buffer }
  | { type: 'keepalive'; walEnd: Lsn; sendTime: bigint; replyRequested: boolean };

export function decodeFrame(buf: Buffer): ReplicationFrame {
  const tag = String.fromCharCode(buf[0]!);
  if (tag === 'w') {
    return { type: 'xlog', walStart: buf.readBigUInt64BE(1), walEnd: buf.readBigUInt64BE(9), sendTime: buf.readBigInt64BE(17), data: buf.subarray(25) };
  }
  if (tag === 'k') return { type: 'keepalive', walEnd: buf.readBigUInt64BE(1), sendTime: buf.readBigInt64BE(9), replyRequested: buf[17] === 1 };
  throw new Error(`unknown replication frame ${JSON.stringify(tag)}`);
}

/** Standby status update: everything up to `flushed` is processed; the server may free that WAL. */
export function encodeStandbyStatus(written: Lsn, flushed: Lsn, nowMs: number, replyRequested = false): Buffer {
  const b = Buffer.alloc(34);
  b.write('r', 0);
  b.writeBigUInt64BE(written, 1);
  b.writeBigUInt64BE(flushed, 9);
  b.writeBigUInt64BE(flushed, 17);
  b.writeBigInt64BE(millisToPgTime(nowMs), 25);
  b[33] = replyRequested ? 1 : 0;
  return b;
}

// ---- pgoutput messages --------------------------------------------------------------------------

export interface RelationColumn {
  name: string;
  typeOid: number;
  typeMod: number;
  isKey: boolean;
}

export interface Relation {
  relationId: number;
  schema: string;
  table: string;
  replicaIdentity: 'default' | 'nothing' | 'full' | 'index';
  columns: RelationColumn[];
}

/** A column value: text, null, or unchanged (a TOASTed value the update did not touch). */
export type TupleValue = string | null | { unchanged: true };

export type PgOutputMessage =
  | { tag: 'begin'; finalLsn: Lsn; commitTime: number; xid: number }
  | { tag: 'commit'; flags: number; commitLsn: Lsn; endLsn: Lsn; commitTime: number }
  | { tag: 'origin'; originLsn: Lsn; name: string }
  | { tag: 'relation'; relation: Relation }
  | { tag: 'type'; typeOid: number; schema: string; name: string }
  | { tag: 'insert'; relationId: number; newTuple: TupleValue[] }
  | { tag: 'update'; relationId: number; keyTuple: TupleValue[] | null; oldTuple: TupleValue[] | null; newTuple: TupleValue[] }
  | { tag: 'delete'; relationId: number; keyTuple: TupleValue[] | null; oldTuple: TupleValue[] | null }
  | { tag: 'truncate'; cascade: boolean; restartIdentity: boolean; relationIds: number[] }
  | { tag: 'message'; transactional: boolean; lsn: Lsn; prefix: string; content: Buffer };

class Reader {
  pos = 0;
  constructor(private readonly b: Buffer) {}
  u8(): number {
    return this.b.readUInt8(this.pos++);
  }
  i16(): number {
    const v = this.b.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  i32(): number {
    const v = this.b.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u32(): number {
    const v = this.b.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    const v = this.b.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  i64(): bigint {
    const v = this.b.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  str(): string {
    const end = this.b.indexOf(0, this.pos);
    if (end < 0) throw new Error('unterminated string in pgoutput message');
    const s = this.b.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    if (this.pos + n > this.b.length) throw new Error('pgoutput message ends early');
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  char(): string {
    return String.fromCharCode(this.u8());
  }
}

function tuple(r: Reader): TupleValue[] {
  const n = r.i16();
  const out: TupleValue[] = [];
  for (let i = 0; i < n; i++) {
    const kind = r.char();
    if (kind === 'n') out.push(null);
    else if (kind === 'u') out.push({ unchanged: true });
    else if (kind === 't' || kind === 'b') out.push(r.bytes(r.i32()).toString(kind === 't' ? 'utf8' : 'hex'));
    else throw new Error(`unknown tuple column kind ${JSON.stringify(kind)}`);
  }
  return out;
}

const IDENTITY: Record<string, Relation['replicaIdentity']> = { d: 'default', n: 'nothing', f: 'full', i: 'index' };

export function decodePgOutput(buf: Buffer): PgOutputMessage {
  const r = new Reader(buf);
  const tag = r.char();
  switch (tag) {
    case 'B':
      return { tag: 'begin', finalLsn: r.u64(), commitTime: pgTimeToMillis(r.i64()), xid: r.u32() };
    case 'C': {
      const flags = r.u8();
      return { tag: 'commit', flags, commitLsn: r.u64(), endLsn: r.u64(), commitTime: pgTimeToMillis(r.i64()) };
    }
    case 'O':
      return { tag: 'origin', originLsn: r.u64(), name: r.str() };
    case 'R': {
      const relationId = r.u32();
      const schema = r.str();
      const table = r.str();
      const replicaIdentity = IDENTITY[r.char()] ?? 'default';
      const n = r.i16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < n; i++) {
        const flags = r.u8();
        columns.push({ isKey: (flags & 1) === 1, name: r.str(), typeOid: r.u32(), typeMod: r.i32() });
      }
      return { tag: 'relation', relation: { relationId, schema, table, replicaIdentity, columns } };
    }
    case 'Y':
      return { tag: 'type', typeOid: r.u32(), schema: r.str(), name: r.str() };
    case 'I': {
      const relationId = r.u32();
      const n = r.char();
      if (n !== 'N') throw new Error(`insert: expected a new tuple, got ${JSON.stringify(n)}`);
      return { tag: 'insert', relationId, newTuple: tuple(r) };
    }
    case 'U': {
      const relationId = r.u32();
      let keyTuple: TupleValue[] | null = null;
      let oldTuple: TupleValue[] | null = null;
      let kind = r.char();
      if (kind === 'K') {
        keyTuple = tuple(r);
        kind = r.char();
      } else if (kind === 'O') {
        oldTuple = tuple(r);
        kind = r.char();
      }
      if (kind !== 'N') throw new Error(`update: expected a new tuple, got ${JSON.stringify(kind)}`);
      return { tag: 'update', relationId, keyTuple, oldTuple, newTuple: tuple(r) };
    }
    case 'D': {
      const relationId = r.u32();
      const kind = r.char();
      const t = tuple(r);
      return { tag: 'delete', relationId, keyTuple: kind === 'K' ? t : null, oldTuple: kind === 'O' ? t : null };
    }
    case 'T': {
      const count = r.u32();
      const options = r.u8();
      const relationIds: number[] = [];
      for (let i = 0; i < count; i++) relationIds.push(r.u32());
      return { tag: 'truncate', cascade: (options & 1) === 1, restartIdentity: (options & 2) === 2, relationIds };
    }
    case 'M': {
      const flags = r.u8();
      const lsn = r.u64();
      const prefix = r.str();
      const content = r.bytes(r.u32());
      return { tag: 'message', transactional: (flags & 1) === 1, lsn, prefix, content };
    }
    default:
      throw new Error(`unknown pgoutput message ${JSON.stringify(tag)}`);
  }
}
