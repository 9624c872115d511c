/**
 * The one file-system interface all log I/O goes through.
 *
 * Reads, writes and metadata operations are synchronous: they hit the page cache and keep the
 * append path free of promise overhead. Only the operations that wait for the disk — `datasync`
 * of a file and `syncDir` of a directory — are asynchronous, so the event loop keeps accepting
 * appends while a group commit is in flight.
 *
 * Durability contract (what callers must do, and what the power-loss simulation enforces):
 * - bytes written to a file survive a power cut only after `datasync()` of that file;
 * - a created, renamed or deleted directory entry survives only after `syncDir()` of its parent.
 */
export interface FileHandle {
  readonly path: string;
  /** Reads up to `length` bytes at `position`; returns the number of bytes read (0 at end of file). */
  read(buffer: Uint8Array, offset: number, length: number, position: number): number;
  /** Writes all `length` bytes at `position` (throws on a short write, e.g. ENOSPC). */
  write(buffer: Uint8Array, offset: number, length: number, position: number): void;
  truncate(length: number): void;
  size(): number;
  datasync(): Promise<void>;
  close(): void;
}

export interface FileSystem {
  /** Opens a file for reading and writing; `create` makes it if missing (the entry needs syncDir). */
  open(path: string, opts: { create: boolean; readOnly?: boolean }): FileHandle;
  /** Creates a directory and its missing parents. */
  mkdirp(path: string): void;
  readdir(path: string): string[];
  exists(path: string): boolean;
  isDirectory(path: string): boolean;
  rename(from: string, to: string): void;
  unlink(path: string): void;
  /** Removes a directory tree (used for deleted topics; durability via syncDir of the parent). */
  rmrf(path: string): void;
  /** Like rmrf, off the event loop where the implementation can (deleting big topics). */
  rmrfAsync?(path: string): Promise<void>;
  syncDir(path: string): Promise<void>;
  readFile(path: string): Buffer;
}

/** Writes a small metadata file atomically: temp file → datasync → rename → sync directory. */
export async function writeFileAtomic(fs: FileSystem, path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = fs.open(tmp, { create: true });
  try {
    fh.truncate(0);
    fh.write(data, 0, data.length, 0);
    await fh.datasync();
  } finally {
    fh.close();
  }
  fs.rename(tmp, path);
  await fs.syncDir(dirname(path));
}

/** Creates missing directories along `path`, making each new entry durable in its parent. */
export async function mkdirpDurable(fs: FileSystem, path: string): Promise<void> {
  const parts = path.split('/').filter((p) => p.length > 0);
  let current = path.startsWith('/') ? '' : '.';
  for (const part of parts) {
    const parent = current === '' ? '/' : current;
    current = current === '' ? `/${part}` : `${current}/${part}`;
    if (fs.exists(current)) continue;
    fs.mkdirp(current);
    await fs.syncDir(parent);
  }
}

export function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  if (i < 0) return '.';
  if (i === 0) return '/';
  return path.slice(0, i);
}

export function joinPath(...parts: string[]): string {
  return parts.join('/').replace(/\/+/g, '/');
}
