import * as nodeFs from 'node:fs';
import type { FileHandle, FileSystem } from './file-system.ts';

/** The real file system (node:fs). */
export class NodeFileSystem implements FileSystem {
  open(path: string, opts: { create: boolean; readOnly?: boolean }): FileHandle {
    const flags = opts.readOnly ? 'r' : opts.create ? nodeFs.constants.O_RDWR | nodeFs.constants.O_CREAT : 'r+';
    return new NodeFileHandle(path, nodeFs.openSync(path, flags, 0o644));
  }
  mkdirp(path: string): void {
    nodeFs.mkdirSync(path, { recursive: true });
  }
  readdir(path: string): string[] {
    return nodeFs.readdirSync(path);
  }
  exists(path: string): boolean {
    return nodeFs.existsSync(path);
  }
  isDirectory(path: string): boolean {
    try {
      return nodeFs.statSync(path).isDirectory();
    } catch {
      return false;
    }
  }
  rename(from: string, to: string): void {
    nodeFs.renameSync(from, to);
  }
  unlink(path: string): void {
    nodeFs.unlinkSync(path);
  }
  rmrf(path: string): void {
    nodeFs.rmSync(path, { recursive: true, force: true });
  }
  rmrfAsync(path: string): Promise<void> {
    return nodeFs.promises.rm(path, { recursive: true, force: true });
  }
  syncDir(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      nodeFs.open(path, 'r', (err, fd) => {
        if (err) return reject(err);
        nodeFs.fsync(fd, (syncErr) => {
          nodeFs.close(fd, () => (syncErr ? reject(syncErr) : resolve()));
        });
      });
    });
  }
  readFile(path: string): Buffer {
    return nodeFs.readFileSync(path);
  }
}

class NodeFileHandle implements FileHandle {
  private closed = false;
  constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  /**
   * A closed descriptor's number is reused by the next open (a socket, another segment), so an
   * operation after close would read or write someone else's file: refuse it instead.
   */
  private assertOpen(op: string): void {
    if (this.closed) throw Object.assign(new Error(`${op} on closed file ${this.path}`), { code: 'EBADF' });
  }

  read(buffer: Uint8Array, offset: number, length: number, position: number): number {
    this.assertOpen('read');
    let total = 0;
    while (total < length) {
      const n = nodeFs.readSync(this.fd, buffer, offset + total, length - total, position + total);
      if (n === 0) break;
      total += n;
    }
    return total;
  }
  write(buffer: Uint8Array, offset: number, length: number, position: number): void {
    this.assertOpen('write');
    let done = 0;
    while (done < length) {
      done += nodeFs.writeSync(this.fd, buffer, offset + done, length - done, position + done);
    }
  }
  truncate(length: number): void {
    this.assertOpen('truncate');
    nodeFs.ftruncateSync(this.fd, length);
  }
  size(): number {
    this.assertOpen('fstat');
    return nodeFs.fstatSync(this.fd).size;
  }
  datasync(): Promise<void> {
    if (this.closed) return Promise.reject(Object.assign(new Error(`fdatasync on closed file ${this.path}`), { code: 'EBADF' }));
    return new Promise((resolve, reject) => nodeFs.fdatasync(this.fd, (err) => (err ? reject(err) : resolve())));
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    nodeFs.closeSync(this.fd);
  }
}
