/**
 * Record-batch compression codecs, by Kafka's attribute id (bits 0–2 of batch attributes).
 *
 * The log stores batches exactly as producers compressed them; codecs are needed only to
 * read records out (in-process consumers, compaction) and to write compressed batches.
 * Codecs beyond gzip are registered by the Kafka protocol layer (`registerCodec`), which
 * owns the native dependencies for snappy, lz4 and zstd.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { LogError } from '../errors.ts';

export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionName = keyof typeof Compression;

export interface Codec {
  compress(data: Buffer): Buffer;
  decompress(data: Buffer): Buffer;
}

const codecs = new Map<number, Codec>([
  [Compression.gzip, { compress: (d) => gzipSync(d, { level: 1 }), decompress: (d) => gunzipSync(d) }],
]);

export function registerCodec(id: number, codec: Codec): void {
  codecs.set(id, codec);
}

export function compressionName(id: number): string {
  return (Object.keys(Compression) as CompressionName[]).find((k) => Compression[k] === id) ?? `unknown(${id})`;
}

export function codecFor(id: number): Codec {
  const codec = codecs.get(id);
  if (!codec) {
    throw new LogError('BATCH_INVALID', `record batch uses compression ${compressionName(id)}, which this build cannot decode`);
  }
  return codec;
}
