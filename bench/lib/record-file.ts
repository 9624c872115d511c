/**
 * Benchmark records as a file of newline-separated lines (what `kcat -P -l` sends, one record
 * per line) and, over the same bytes in memory, as `Records` for the clients that run in the
 * bench process. Payloads are random characters of the base64 alphabet (6 bits of entropy per
 * byte, never a newline); no system compresses them here. The file is fdatasync'd after it is
 * written so its writeback does not overlap the first measurements.
 */
import { randomFillSync } from 'node:crypto';
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Records } from './peer-load.ts';

const ALPHABET = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');

export interface RecordFile extends Records {
  readonly file: string;
  readonly size: number;
}

export function writeRecordFile(dir: string, count: number, size: number): RecordFile {
  const stride = size + 1;
  const all = Buffer.allocUnsafe(count * stride);
  const step = 1 << 30;
  for (let off = 0; off < all.length; off += step) randomFillSync(all, off, Math.min(step, all.length - off));
  for (let i = 0; i < all.length; i++) all[i] = ALPHABET[all[i]! & 63]!;
  for (let i = 1; i <= count; i++) all[i * stride - 1] = 10;
  const file = path.join(dir, `records-${count}x${size}.txt`);
  const fd = openSync(file, 'w');
  try {
    for (let off = 0; off < all.length; ) off += writeSync(fd, all, off, Math.min(step, all.length - off));
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return {
    file,
    size,
    count,
    bytes: count * size,
    at: (i) => all.subarray(i * stride, i * stride + size),
  };
}
