/**
 * A simulated file system that remembers what was made durable, for power-loss tests (the
 * approach of FoundationDB's simulation and the ALICE crash-consistency studies).
 *
 * Model (strict, as POSIX promises and no more):
 * - a file's bytes are durable once `datasync` of that file completes; the durable content
 *   is what the file held when datasync was called;
 * - a directory entry (create, rename, unlink) is durable once `syncDir` of its directory
 *   completes;
 * - `powerCut()` kills this instance (every later call throws PowerCutError) and returns a new
 *   file system holding only the durable state, where each file may additionally keep a
 *   random prefix of its unsynced appended bytes, possibly with garbage in it (a torn write).
 *
 * `cutAfterOps` makes the cut happen at an exact operation count, so a seed reproduces it.
 * Completions of datasync/syncDir happen on a later turn of the event loop, so appends keep
 * arriving while a sync is in flight, as on a real disk.
 */
import type { FileHandle, FileSystem } from '../../src/log/fs/file-system.ts';

export class PowerCutError extends Error {
  constructor() {
    super('simulated power cut');
    this.name = 'PowerCutError';
  }
}

class Inode {
  data: Buffer = Buffer.alloc(0);
  length = 0;
  durable: Buffer = Buffer.alloc(0);
  entries = new Map<string, Inode>();
  durableEntries = new Map<string, Inode>();
  constructor(readonly kind: 'file' | 'dir') {}

  content(): Buffer {
    return this.data.subarray(0, this.length);
  }
  ensure(size: number): void {
    if (size <= this.data.length) return;
    const next = Buffer.alloc(Math.max(size, this.data.length * 2, 4096));
    this.data.copy(next, 0, 0, this.length);
    this.data = next;
  }
}

export type Rng = () => number;

/** Mulberry32: a small seeded PRNG so failures reproduce from the seed. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class SimFileSystem implements FileSystem {
  private dead = false;
  ops = 0;
  /** When set, the operation with this number triggers the cut (it and everything after throws). */
  cutAfterOps: number | null = null;
  onCut: (() => void) | null = null;

  constructor(private readonly root: Inode = SimFileSystem.emptyRoot()) {}

  private static emptyRoot(): Inode {
    return new Inode('dir');
  }

  get isDead(): boolean {
    return this.dead;
  }

  private tick(): void {
    if (this.dead) throw new PowerCutError();
    this.ops++;
    if (this.cutAfterOps !== null && this.ops >= this.cutAfterOps) {
      this.dead = true;
      this.onCut?.();
      throw new PowerCutError();
    }
  }

  private split(path: string): string[] {
    return path.split('/').filter((p) => p.length > 0 && p !== '.');
  }

  private lookup(path: string): Inode | undefined {
    let node: Inode | undefined = this.root;
    for (const part of this.split(path)) {
      if (!node || node.kind !== 'dir') return undefined;
      node = node.entries.get(part);
    }
    return node;
  }

  private parentOf(path: string): { dir: Inode; name: string } {
    const parts = this.split(path);
    const name = parts.pop();
    if (!name) throw errno('EINVAL', path);
    const dir = this.lookup('/' + parts.join('/'));
    if (!dir || dir.kind !== 'dir') throw errno('ENOENT', path);
    return { dir, name };
  }

  open(path: string, opts: { create: boolean; readOnly?: boolean }): FileHandle {
    this.tick();
    let node = this.lookup(path);
    if (!node) {
      if (!opts.create) throw errno('ENOENT', path);
      const { dir, name } = this.parentOf(path);
      node = new Inode('file');
      dir.entries.set(name, node);
    }
    if (node.kind !== 'file') throw errno('EISDIR', path);
    return new SimHandle(this, path, node);
  }

  mkdirp(path: string): void {
    this.tick();
    let node = this.root;
    for (const part of this.split(path)) {
      let next = node.entries.get(part);
      if (!next) {
        next = new Inode('dir');
        node.entries.set(part, next);
      }
      if (next.kind !== 'dir') throw errno('ENOTDIR', path);
      node = next;
    }
  }

  readdir(path: string): string[] {
    this.tick();
    const node = this.lookup(path);
    if (!node || node.kind !== 'dir') throw errno('ENOENT', path);
    return [...node.entries.keys()];
  }

  exists(path: string): boolean {
    this.tick();
    return this.lookup(path) !== undefined;
  }

  isDirectory(path: string): boolean {
    this.tick();
    return this.lookup(path)?.kind === 'dir';
  }

  rename(from: string, to: string): void {
    this.tick();
    const src = this.parentOf(from);
    const node = src.dir.entries.get(src.name);
    if (!node) throw errno('ENOENT', from);
    const dst = this.parentOf(to);
    src.dir.entries.delete(src.name);
    dst.dir.entries.set(dst.name, node);
  }

  unlink(path: string): void {
    this.tick();
    const { dir, name } = this.parentOf(path);
    if (!dir.entries.delete(name)) throw errno('ENOENT', path);
  }

  rmrf(path: string): void {
    this.tick();
    const { dir, name } = this.parentOf(path);
    dir.entries.delete(name);
  }

  syncDir(path: string): Promise<void> {
    this.tick();
    const node = this.lookup(path);
    if (!node || node.kind !== 'dir') return Promise.reject(errno('ENOENT', path));
    const snapshot = new Map(node.entries);
    return this.later(() => {
      node.durableEntries = snapshot;
    });
  }

  readFile(path: string): Buffer {
    this.tick();
    const node = this.lookup(path);
    if (!node || node.kind !== 'file') throw errno('ENOENT', path);
    return Buffer.from(node.content());
  }

  /** Completes a sync on a later turn of the event loop, unless the power is cut first. */
  later(apply: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      setImmediate(() => {
        if (this.dead) return reject(new PowerCutError());
        apply();
        resolve();
      });
    });
  }

  handleTick(): void {
    this.tick();
  }

  /**
   * Cuts the power: this instance dies and the returned file system holds what a machine would
   * find after rebooting. `rng` decides how much of each file's unsynced tail survives.
   */
  powerCut(rng: Rng): SimFileSystem {
    this.dead = true;
    const rebuilt = new Map<Inode, Inode>();
    const rebuild = (old: Inode): Inode => {
      const seen = rebuilt.get(old);
      if (seen) return seen;
      const fresh = new Inode(old.kind);
      rebuilt.set(old, fresh);
      if (old.kind === 'dir') {
        for (const [name, child] of old.durableEntries) fresh.entries.set(name, rebuild(child));
        fresh.durableEntries = new Map(fresh.entries);
      } else {
        let content = Buffer.from(old.durable);
        const current = old.content();
        // Unsynced appends may partly reach the disk: keep a random prefix, maybe with garbage.
        if (current.length > content.length && current.subarray(0, content.length).equals(content) && rng() < 0.5) {
          const extra = Math.floor(rng() * (current.length - content.length + 1));
          const tail = Buffer.from(current.subarray(content.length, content.length + extra));
          if (tail.length > 0 && rng() < 0.3) {
            const at = Math.floor(rng() * tail.length);
            tail[at] = tail[at]! ^ (1 + Math.floor(rng() * 255));
          }
          content = Buffer.concat([content, tail]);
        }
        fresh.data = content;
        fresh.length = content.length;
        fresh.durable = Buffer.from(content);
      }
      return fresh;
    };
    return new SimFileSystem(rebuild(this.root));
  }

  /** Reads a file's durable bytes (test inspection). */
  durableContent(path: string): Buffer | undefined {
    const node = this.lookup(path);
    return node?.kind === 'file' ? Buffer.from(node.durable) : undefined;
  }
}

class SimHandle implements FileHandle {
  private closed = false;
  constructor(
    private readonly fs: SimFileSystem,
    readonly path: string,
    private readonly node: Inode,
  ) {}

  private check(): void {
    if (this.closed) throw errno('EBADF', this.path);
    this.fs.handleTick();
  }

  read(buffer: Uint8Array, offset: number, length: number, position: number): number {
    this.check();
    const n = Math.max(0, Math.min(length, this.node.length - position));
    if (n > 0) buffer.set(this.node.data.subarray(position, position + n), offset);
    return n;
  }

  write(buffer: Uint8Array, offset: number, length: number, position: number): void {
    this.check();
    const end = position + length;
    this.node.ensure(end);
    if (position > this.node.length) this.node.data.fill(0, this.node.length, position);
    this.node.data.set(buffer.subarray(offset, offset + length), position);
    if (end > this.node.length) this.node.length = end;
  }

  truncate(length: number): void {
    this.check();
    this.node.ensure(length);
    if (length > this.node.length) this.node.data.fill(0, this.node.length, length);
    this.node.length = length;
  }

  size(): number {
    this.check();
    return this.node.length;
  }

  datasync(): Promise<void> {
    this.check();
    const snapshot = Buffer.from(this.node.content());
    const node = this.node;
    return this.fs.later(() => {
      node.durable = snapshot;
    });
  }

  close(): void {
    this.closed = true;
  }
}

function errno(code: string, path: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: ${path}`) as NodeJS.ErrnoException;
  e.code = code;
  return e;
}
