/**
 * The local object store: files under a root folder, every operation through the log's
 * FileSystem interface so the power-loss simulation sees exactly what is made durable.
 *
 * `putFile` (the commit's durability point):
 * - the local file is on the same real file system (`adopt`): open it through the interface,
 *   fdatasync it, create the target folders durably, rename it into place, fsync the folder;
 * - otherwise (a simulated file system in tests, or a staging folder elsewhere): copy it
 *   into `<root>/_staging/` through the interface, fdatasync, rename into place, fsync the
 *   folder, then remove the local file.
 * The rename is the only step that makes the key visible, so a crash leaves either no object
 * or the whole object (plus, at worst, an unreferenced staging file).
 */
import { randomUUID } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { dirname, joinPath, mkdirpDurable, type FileSystem } from '../../log/fs/file-system.ts';
import { LakeError } from '../errors.ts';
import type { ObjectStore } from './object-store.ts';

const COPY_CHUNK = 1 << 20;

export interface FsObjectStoreOptions {
  root: string;
  fs: FileSystem;
  /**
   * Whether local files written by DuckDB are on the same file system as `root` and can be
   * fdatasynced and renamed in place (true for the real file system with the staging folder
   * inside the root).
   */
  adoptLocalFiles: boolean;
}

export class FsObjectStore implements ObjectStore {
  readonly kind = 'fs' as const;
  readonly description: string;
  readonly root: string;
  private readonly fs: FileSystem;
  private readonly adopt: boolean;
  private readonly knownDirs = new Set<string>();

  constructor(opts: FsObjectStoreOptions) {
    this.root = opts.root.replace(/\/+$/, '');
    this.fs = opts.fs;
    this.adopt = opts.adoptLocalFiles;
    this.description = `file://${this.root}`;
  }

  pathOf(key: string): string {
    if (key.startsWith('/') || key.split('/').some((p) => p === '..' || p === '.' || p === '')) {
      throw new LakeError('LAKE_STORE_ERROR', `invalid object key ${JSON.stringify(key)}`, { retriable: false });
    }
    return joinPath(this.root, key);
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    await mkdirpDurable(this.fs, dir);
    this.knownDirs.add(dir);
  }

  async putFile(localPath: string, key: string): Promise<{ bytes: number }> {
    const target = this.pathOf(key);
    const dir = dirname(target);
    try {
      await this.ensureDir(dir);
      let bytes: number;
      if (this.adopt) {
        const fh = this.fs.open(localPath, { create: false });
        try {
          bytes = fh.size();
          await fh.datasync();
        } finally {
          fh.close();
        }
        this.fs.rename(localPath, target);
      } else {
        const stagingDir = joinPath(this.root, '_staging');
        await this.ensureDir(stagingDir);
        const tmp = joinPath(stagingDir, `${randomUUID()}.tmp`);
        bytes = await this.copyIn(localPath, tmp);
        this.fs.rename(tmp, target);
      }
      await this.fs.syncDir(dir);
      if (!this.adopt) nodeFs.rmSync(localPath, { force: true });
      return { bytes };
    } catch (err) {
      if (err instanceof LakeError) throw err;
      throw new LakeError('LAKE_STORE_ERROR', `cannot store ${key} under ${this.root}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async copyIn(localPath: string, tmp: string): Promise<number> {
    const src = nodeFs.openSync(localPath, 'r');
    const fh = this.fs.open(tmp, { create: true });
    try {
      fh.truncate(0);
      const buf = Buffer.allocUnsafe(COPY_CHUNK);
      let pos = 0;
      for (;;) {
        const n = nodeFs.readSync(src, buf, 0, buf.length, pos);
        if (n === 0) break;
        fh.write(buf, 0, n, pos);
        pos += n;
      }
      await fh.datasync();
      return pos;
    } finally {
      fh.close();
      nodeFs.closeSync(src);
    }
  }

  async localPath(key: string): Promise<string> {
    return this.pathOf(key);
  }

  async size(key: string): Promise<number | null> {
    const p = this.pathOf(key);
    if (!this.fs.exists(p)) return null;
    const fh = this.fs.open(p, { create: false, readOnly: true });
    try {
      return fh.size();
    } finally {
      fh.close();
    }
  }

  async delete(key: string): Promise<void> {
    const p = this.pathOf(key);
    try {
      if (this.fs.exists(p)) this.fs.unlink(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new LakeError('LAKE_STORE_ERROR', `cannot delete ${key}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Removes leftovers of interrupted copies (never referenced by the manifest). */
  cleanStaging(): void {
    const dir = joinPath(this.root, '_staging');
    if (!this.fs.exists(dir)) return;
    for (const name of this.fs.readdir(dir)) {
      try {
        this.fs.unlink(joinPath(dir, name));
      } catch {
        // a concurrent writer's file; it is removed next time
      }
    }
  }

  async close(): Promise<void> {}
}
