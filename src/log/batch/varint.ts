/**
 * Zig-zag variable-length integers as used by Kafka record batches (protobuf style).
 * Values are JS numbers; varlongs beyond 2^53 are not representable and are rejected.
 */

const TWO_31 = 2 ** 31;

/** Bytes needed for the zig-zag varint of `value`. */
export function varintSize(value: number): number {
  let z = value >= 0 ? value * 2 : -value * 2 - 1;
  let n = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    n++;
  }
  return n;
}

/** Writes the zig-zag varint of `value` at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  return writeUnsignedVarint(buf, pos, value >= 0 ? value * 2 : -value * 2 - 1);
}

/** Unsigned varint (used by the Kafka protocol's compact types). */
export function writeUnsignedVarint(buf: Uint8Array, pos: number, value: number): number {
  let z = value;
  while (z >= TWO_31) {
    buf[pos++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  let u = z >>> 0;
  while (u >= 0x80) {
    buf[pos++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  buf[pos++] = u;
  return pos;
}

export function unsignedVarintSize(value: number): number {
  let n = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

export class VarintError extends Error {}

/**
 * A cursor over a buffer for decoding; `pos` advances as values are read. Methods throw
 * VarintError (never read past `end`) so callers can reject a malformed batch.
 */
export class ByteReader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    pos = 0,
    readonly end = buf.length,
  ) {
    this.pos = pos;
  }

  unsignedVarint(): number {
    const buf = this.buf;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new VarintError('varint runs past the end of the data');
      const b = buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        if (result > Number.MAX_SAFE_INTEGER) throw new VarintError('varint exceeds 2^53');
        return result;
      }
      mul *= 128;
    }
    throw new VarintError('varint longer than 10 bytes');
  }

  varint(): number {
    // Fast path: one byte.
    if (this.pos < this.end) {
      const b = this.buf[this.pos]!;
      if ((b & 0x80) === 0) {
        this.pos++;
        return (b >>> 1) ^ -(b & 1);
      }
    }
    const z = this.unsignedVarint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  bytes(length: number): Buffer {
    if (length < 0 || this.pos + length > this.end) throw new VarintError(`field of ${length} bytes runs past the end of the data`);
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  int8(): number {
    if (this.pos + 1 > this.end) throw new VarintError('int8 runs past the end of the data');
    return this.buf.readInt8(this.pos++);
  }
}
