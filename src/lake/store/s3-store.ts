/**
 * The S3 object store (`@aws-sdk/client-s3`; any S3-compatible endpoint). An object exists
 * once its PUT is acknowledged, which is the commit's durability point. The store is never
 * listed: the manifest names every object (listings of some S3-compatible servers are wrong).
 *
 * DuckDB reads local files only (no httpfs offline), so `localPath` downloads an object into a
 * local cache folder (`<cache>/<key>`, same relative layout so Hive partition paths still
 * parse), through a temp file and a rename, and checks its size against the manifest. Data files
 * are immutable, so a cached copy never goes stale; the cache is trimmed oldest-first past
 * `cacheMaxBytes`.
 */
import { randomUUID } from 'node:crypto';
import * as nodeFs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LakeError } from '../errors.ts';
import type { ObjectStore } from './object-store.ts';

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket (e.g. `lake/`). */
  prefix?: string;
  region?: string;
  /** For S3-compatible servers (MinIO, s3rver, …): `http://127.0.0.1:4569`. */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`), needed by most S3-compatible servers (default true with an endpoint). */
  forcePathStyle?: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Local folder for downloaded objects (DuckDB reads from here). */
  cacheDir: string;
  /** Trim the cache beyond this many bytes (default 10 GiB). */
  cacheMaxBytes?: number;
}

export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3' as const;
  readonly description: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly cacheDir: string;
  private readonly cacheMaxBytes: number;
  private readonly downloads = new Map<string, Promise<string>>();

  constructor(opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ? opts.prefix.replace(/^\/+/, '').replace(/\/*$/, '/') : '';
    this.cacheDir = opts.cacheDir;
    this.cacheMaxBytes = opts.cacheMaxBytes ?? 10 * 1024 ** 3;
    this.description = `s3://${this.bucket}/${this.prefix}`;
    this.client = new S3Client({
      region: opts.region ?? 'us-east-1',
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      forcePathStyle: opts.forcePathStyle ?? opts.endpoint !== undefined,
      ...(opts.accessKeyId && opts.secretAccessKey ? { credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey } } : {}),
      maxAttempts: 5,
      // Checksums only where S3 requires them: the default (aws-chunked bodies with CRC trailers)
      // is not understood by many S3-compatible servers, which would store the framing as data.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    nodeFs.mkdirSync(this.cacheDir, { recursive: true });
  }

  private objectKey(key: string): string {
    if (key.startsWith('/') || key.split('/').some((p) => p === '..' || p === '.' || p === '')) {
      throw new LakeError('LAKE_STORE_ERROR', `invalid object key ${JSON.stringify(key)}`, { retriable: false });
    }
    return this.prefix + key;
  }

  private fail(what: string, key: string, err: unknown): LakeError {
    const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    return new LakeError('LAKE_STORE_ERROR', `S3 ${what} ${this.description}${key}: ${e.name ?? ''} ${e.message ?? String(err)}`.trim(), { cause: err });
  }

  async putFile(localPath: string, key: string): Promise<{ bytes: number }> {
    const bytes = nodeFs.statSync(localPath).size;
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          Body: nodeFs.createReadStream(localPath),
          ContentLength: bytes,
          ContentType: 'application/vnd.apache.parquet',
        }),
      );
    } catch (err) {
      throw this.fail('PUT', key, err);
    }
    // Keep the written file as the cached copy: the next read needs no download.
    const cached = path.join(this.cacheDir, key);
    try {
      nodeFs.mkdirSync(path.dirname(cached), { recursive: true });
      nodeFs.renameSync(localPath, cached);
    } catch {
      nodeFs.rmSync(localPath, { force: true });
    }
    return { bytes };
  }

  localPath(key: string, expectedBytes?: number): Promise<string> {
    const cached = path.join(this.cacheDir, key);
    try {
      const st = nodeFs.statSync(cached);
      if (expectedBytes === undefined || st.size === expectedBytes) {
        const now = new Date();
        nodeFs.utimesSync(cached, now, now);
        return Promise.resolve(cached);
      }
    } catch {
      // not cached yet
    }
    let p = this.downloads.get(key);
    if (!p) {
      p = this.download(key, cached, expectedBytes).finally(() => this.downloads.delete(key));
      this.downloads.set(key, p);
    }
    return p;
  }

  private async download(key: string, cached: string, expectedBytes?: number): Promise<string> {
    nodeFs.mkdirSync(path.dirname(cached), { recursive: true });
    const tmp = `${cached}.${randomUUID()}.download`;
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      await pipeline(res.Body as NodeJS.ReadableStream, nodeFs.createWriteStream(tmp));
      const size = nodeFs.statSync(tmp).size;
      if (expectedBytes !== undefined && size !== expectedBytes) {
        throw new LakeError('LAKE_FILE_MISSING', `S3 object ${this.description}${key} has ${size} bytes, the manifest records ${expectedBytes}`);
      }
      nodeFs.renameSync(tmp, cached);
    } catch (err) {
      nodeFs.rmSync(tmp, { force: true });
      if (err instanceof LakeError) throw err;
      if ((err as { name?: string }).name === 'NoSuchKey') {
        throw new LakeError('LAKE_FILE_MISSING', `S3 object ${this.description}${key} is missing`, { cause: err });
      }
      throw this.fail('GET', key, err);
    }
    this.trimCache();
    return cached;
  }

  async size(key: string): Promise<number | null> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return res.ContentLength ?? null;
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return null;
      throw this.fail('HEAD', key, err);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (!(e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404)) throw this.fail('DELETE', key, err);
    }
    nodeFs.rmSync(path.join(this.cacheDir, key), { force: true });
  }

  /** Deletes the least recently used cached files until the cache fits. */
  private trimCache(): void {
    const files: Array<{ p: string; size: number; atime: number }> = [];
    const walk = (dir: string) => {
      for (const e of nodeFs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile() && !e.name.endsWith('.download')) {
          const st = nodeFs.statSync(p);
          files.push({ p, size: st.size, atime: st.mtimeMs });
        }
      }
    };
    try {
      walk(this.cacheDir);
    } catch {
      return;
    }
    let total = files.reduce((s, f) => s + f.size, 0);
    if (total <= this.cacheMaxBytes) return;
    files.sort((a, b) => a.atime - b.atime);
    for (const f of files) {
      if (total <= this.cacheMaxBytes) break;
      nodeFs.rmSync(f.p, { force: true });
      total -= f.size;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
