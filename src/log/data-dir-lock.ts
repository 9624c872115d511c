/**
 * One process owns a data directory. The lock is a file created with O_EXCL holding the
 * owner's pid; a lock whose pid is no longer alive (a crashed instance) is taken over.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { LogError } from './errors.ts';

export class DataDirLock {
  private constructor(private readonly path: string) {}

  static acquire(dataDir: string): DataDirLock {
    const path = `${dataDir}/tributary.lock`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = fs.openSync(path, 'wx', 0o644);
        fs.writeSync(fd, JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() }));
        fs.closeSync(fd);
        return new DataDirLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = readOwner(path);
        if (owner && owner.pid !== process.pid && isAlive(owner.pid)) {
          throw new LogError(
            'DATA_DIR_LOCKED',
            `data directory ${dataDir} is in use by another tributary process (pid ${owner.pid} on ${owner.host}, since ${owner.since}); stop it or choose another --data-dir`,
          );
        }
        // Stale lock from a process that is gone: take it over.
        fs.rmSync(path, { force: true });
      }
    }
    throw new LogError('DATA_DIR_LOCKED', `could not lock data directory ${dataDir}`);
  }

  release(): void {
    const owner = readOwner(this.path);
    if (owner?.pid === process.pid) fs.rmSync(this.path, { force: true });
  }
}

function readOwner(path: string): { pid: number; host: string; since: string } | null {
  try {
    const o = JSON.parse(fs.readFileSync(path, 'utf8'));
    return typeof o.pid === 'number' ? o : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
