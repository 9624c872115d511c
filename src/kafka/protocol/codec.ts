/**
 * The one generic encoder/decoder for every message schema and version.
 *
 * Classic versions: strings are int16-length, bytes/records int32-length, arrays int32-count
 * (-1 = null). Flexible versions (KIP-482): compact forms (unsigned varint of length+1, 0 =
 * null) and a tagged-field section after every struct, holding fields that have a tag and a
 * non-default value; unknown tags are skipped when reading.
 */
import { Reader, Writer } from './buffers.ts';
import { ProtocolError } from './errors.ts';
import { inRange, type Field, type FieldType, type MessageSchema } from './schema.ts';

export type Message = Record<string, unknown>;

export function isFlexible(schema: MessageSchema, version: number): boolean {
  return inRange(schema.flexible, version);
}

export function encodeMessage(schema: MessageSchema, version: number, value: Message, w = new Writer()): Writer {
  if (!inRange(schema.versions, version)) throw new ProtocolError('UNSUPPORTED_VERSION', `${schema.name} v${version} is not supported`);
  writeStruct(w, schema.fields, value, version, isFlexible(schema, version));
  return w;
}

export function decodeMessage(schema: MessageSchema, version: number, r: Reader): Message {
  if (!inRange(schema.versions, version)) throw new ProtocolError('UNSUPPORTED_VERSION', `${schema.name} v${version} is not supported`);
  return readStruct(r, schema.fields, version, isFlexible(schema, version), schema.name);
}

function present(f: Field, version: number): boolean {
  return inRange(f.versions, version);
}

function tagged(f: Field, version: number, flexible: boolean): boolean {
  return flexible && f.tag !== null && inRange(f.taggedVersions, version);
}

function writeStruct(w: Writer, fields: Field[], value: Message | null | undefined, version: number, flexible: boolean): void {
  const v = value ?? {};
  const tags: Field[] = [];
  for (const f of fields) {
    if (!present(f, version)) continue;
    if (tagged(f, version, flexible)) {
      if (!isDefault(f.type, v[f.name], f.default)) tags.push(f);
      continue;
    }
    writeValue(w, f, f.type, v[f.name] === undefined ? f.default : v[f.name], version, flexible && !f.neverFlexible, inRange(f.nullable, version));
  }
  if (!flexible) return;
  tags.sort((a, b) => a.tag! - b.tag!);
  w.uvarint(tags.length);
  for (const f of tags) {
    const sub = new Writer(64);
    writeValue(sub, f, f.type, v[f.name], version, true, inRange(f.nullable, version));
    const bytes = sub.finish();
    w.uvarint(f.tag!).uvarint(bytes.length).raw(bytes);
  }
}

function writeValue(w: Writer, f: Field, type: FieldType, value: unknown, version: number, flexible: boolean, nullable: boolean): void {
  if (value === null && !nullable && type !== 'records') {
    if (typeof type === 'string' && (type === 'string' || type === 'bytes')) value = f.default ?? (type === 'string' ? '' : Buffer.alloc(0));
    else if (typeof type !== 'string' && type.kind === 'array') value = [];
  }
  if (typeof type !== 'string') {
    if (type.kind === 'struct') {
      // Nullable structs carry a marker byte: -1 null, 1 present.
      if (nullable) {
        w.int8(value === null ? -1 : 1);
        if (value === null) return;
      }
      writeStruct(w, type.fields, value as Message, version, flexible);
      return;
    }
    const items = value as unknown[] | null;
    if (items === null) {
      if (flexible) w.uvarint(0);
      else w.int32(-1);
      return;
    }
    if (flexible) w.uvarint(items.length + 1);
    else w.int32(items.length);
    for (const item of items) writeValue(w, f, type.of, item, version, flexible, false);
    return;
  }
  switch (type) {
    case 'bool':
      w.bool(Boolean(value));
      return;
    case 'int8':
      w.int8(value as number);
      return;
    case 'int16':
      w.int16(value as number);
      return;
    case 'uint16':
      w.uint16(value as number);
      return;
    case 'int32':
      w.int32(value as number);
      return;
    case 'uint32':
      w.uint32(value as number);
      return;
    case 'int64':
      w.int64(value as number);
      return;
    case 'float64':
      w.float64(value as number);
      return;
    case 'uuid':
      w.uuid(value as string);
      return;
    case 'string': {
      if (value === null) {
        if (flexible) w.uvarint(0);
        else w.int16(-1);
        return;
      }
      const b = Buffer.from(value as string, 'utf8');
      if (flexible) w.uvarint(b.length + 1);
      else w.int16(b.length);
      w.raw(b);
      return;
    }
    case 'bytes':
    case 'records': {
      if (value === null || value === undefined) {
        if (flexible) w.uvarint(0);
        else w.int32(-1);
        return;
      }
      const b = value as Uint8Array;
      if (flexible) w.uvarint(b.length + 1);
      else w.int32(b.length);
      w.raw(b);
      return;
    }
  }
}

function readStruct(r: Reader, fields: Field[], version: number, flexible: boolean, where: string): Message {
  const out: Message = {};
  for (const f of fields) {
    if (!present(f, version)) {
      out[f.name] = f.default;
      continue;
    }
    if (tagged(f, version, flexible)) {
      out[f.name] = f.default;
      continue;
    }
    out[f.name] = readValue(r, f, f.type, version, flexible && !f.neverFlexible, where, inRange(f.nullable, version));
  }
  if (flexible) readTags(r, fields, version, out, where);
  return out;
}

function readTags(r: Reader, fields: Field[], version: number, out: Message, where: string): void {
  const count = r.uvarint();
  for (let i = 0; i < count; i++) {
    const tag = r.uvarint();
    const size = r.uvarint();
    const body = r.bytes(size, 'tagged field');
    const f = fields.find((x) => x.tag === tag && inRange(x.taggedVersions, version));
    if (!f) continue; // unknown tag: ignore, as the protocol requires
    const sub = new Reader(body);
    out[f.name] = readValue(sub, f, f.type, version, true, where, inRange(f.nullable, version));
  }
}

function readValue(r: Reader, f: Field, type: FieldType, version: number, flexible: boolean, where: string, nullable: boolean): unknown {
  if (typeof type !== 'string') {
    if (type.kind === 'struct') {
      if (nullable && r.int8() < 0) return null;
      return readStruct(r, type.fields, version, flexible, where);
    }
    let n: number;
    if (flexible) {
      n = r.uvarint() - 1;
    } else {
      n = r.int32();
    }
    if (n < 0) {
      if (n < -1 || !nullable) {
        if (n === -1) return [];
        throw new ProtocolError('MALFORMED_FRAME', `${where}.${f.name}: negative array length ${n}`);
      }
      return null;
    }
    // Every element takes at least one byte: a count beyond the frame is malformed, not a reason to allocate.
    if (n > r.remaining) throw new ProtocolError('MALFORMED_FRAME', `${where}.${f.name}: array of ${n} elements in ${r.remaining} bytes`);
    const items = new Array(n);
    for (let i = 0; i < n; i++) items[i] = readValue(r, f, type.of, version, flexible, where, false);
    return items;
  }
  switch (type) {
    case 'bool':
      return r.bool();
    case 'int8':
      return r.int8();
    case 'int16':
      return r.int16();
    case 'uint16':
      return r.uint16();
    case 'int32':
      return r.int32();
    case 'uint32':
      return r.uint32();
    case 'int64':
      return r.int64();
    case 'float64':
      return r.float64();
    case 'uuid':
      return r.uuid();
    case 'string': {
      const n = flexible ? r.uvarint() - 1 : r.int16();
      if (n < 0) {
        if (n === -1) return nullable ? null : '';
        throw new ProtocolError('MALFORMED_FRAME', `${where}.${f.name}: negative string length ${n}`);
      }
      return r.bytes(n, `${where}.${f.name}`).toString('utf8');
    }
    case 'bytes':
    case 'records': {
      const n = flexible ? r.uvarint() - 1 : r.int32();
      if (n < 0) {
        if (n === -1) return nullable ? null : Buffer.alloc(0);
        throw new ProtocolError('MALFORMED_FRAME', `${where}.${f.name}: negative length ${n}`);
      }
      return r.bytes(n, `${where}.${f.name}`);
    }
  }
}

function isDefault(type: FieldType, value: unknown, def: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof type !== 'string') {
    if (type.kind === 'array') return (value as unknown[]).length === 0;
    const v = value as Message;
    return type.fields.every((f) => isDefault(f.type, v[f.name], f.default));
  }
  if (type === 'bytes' || type === 'records') return (value as Buffer).length === 0 && def !== null;
  return value === def;
}
