/**
 * File source: tails a directory of NDJSON or CSV files into a topic, exactly once.
 *
 * Design note. Each file is a source partition (`{ file: "<name>" }`); its offset is the byte
 * position after the last record written, with the file's inode (`{ position, ino }`) and, for
 * CSV, the header row. The runtime's exactly-once mode (exactly-once.ts) makes "written" and
 * "stored" the same thing across crashes.
 *
 * - Tailing: every `pollIntervalMs` the directory is listed; files matching `pattern` (and
 *   assigned to this task by a hash of their name) are read from their offset. Only complete
 *   records are emitted — a partial last line waits for its newline.
 * - Rotation (rename-and-recreate): the old file stays open; when the name points to a new inode
 *   the old one is read to its end (its unterminated last line, which can no longer grow, is
 *   emitted) and the new file is read from 0. A restart that finds another inode under a name
 *   starts that file at 0. Truncation (copytruncate: same inode, smaller than our position)
 *   also starts at 0. The pattern should not match rotated names (`app.ndjson` vs `app.ndjson.1`).
 * - Bad input: a line that is not JSON, or a CSV row with the wrong number of fields, becomes a
 *   failed record (dead-lettered with its file and position with `errors.tolerance: all`).
 */
import { closeSync, fstatSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { bool, num, obj, str } from '../../../util/schema.ts';
import { ConnectError } from '../../errors.ts';
import { topicSchema } from '../../config.ts';
import { defineSourcePlugin, type JsonObject, type SourceRecord } from '../../types.ts';
import { splitCsv, splitLines } from './split.ts';

export const FILE_SOURCE_FIELDS = {
  directory: str('a directory path'),
  /** Glob of file names (`*` and `?`), e.g. `*.ndjson` or `orders-*.csv`. */
  pattern: str('a file name pattern like "*.ndjson"').default('*'),
  format: z.enum(['ndjson', 'csv', 'auto']).default('auto'),
  topic: topicSchema,
  csv: obj({
    header: bool().default(true),
    delimiter: z.string().length(1, { error: 'expected one character' }).default(','),
    /** Column names when the files have no header row. */
    columns: z.array(str()).optional(),
  }).default({ header: true, delimiter: ',' }),
  /** Value field whose content becomes the record key. */
  keyField: str().optional(),
  pollIntervalMs: num({ int: true, min: 10 }).default(500),
  /** Most bytes read from one file per poll. */
  readChunkBytes: num({ int: true, min: 1024 }).default(1024 * 1024),
};

export function globToRegExp(glob: string): RegExp {
  const esc = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${esc}$`);
}

/** FNV-1a: which task owns a file (stable across restarts). */
export function ownerOf(name: string, tasks: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % tasks;
}

interface Tracked {
  name: string;
  fd: number;
  ino: number;
  position: number;
  header: string[] | null;
}

export const fileSourcePlugin = defineSourcePlugin({
  name: 'file-source',
  description: 'tails a directory of NDJSON or CSV files into a topic, exactly once (file offsets), through rotation and partial lines',
  fields: FILE_SOURCE_FIELDS,
  exactlyOnce: true,
  validate(config) {
    try {
      if (!statSync(config.directory).isDirectory()) return [{ path: 'directory', message: `${config.directory} is not a directory` }];
    } catch {
      return [{ path: 'directory', message: `${config.directory} does not exist (create it, or fix the path)` }];
    }
    if (config.csv.header === false && !config.csv.columns && config.format === 'csv') {
      return [{ path: 'csv.columns', message: 'CSV files without a header row need column names' }];
    }
    return [];
  },
  taskConfigs: (_config, maxTasks) => Array.from({ length: maxTasks }, (_, i) => ({ task: i, tasks: maxTasks })),
  createTask(config, task, ctx) {
    const re = globToRegExp(config.pattern);
    const me = Number(task['task'] ?? 0);
    const of = Number(task['tasks'] ?? 1);
    const tracked = new Map<string, Tracked>();
    let lastScan = 0;
    const formatOf = (name: string): 'ndjson' | 'csv' => (config.format !== 'auto' ? config.format : /\.csv$/i.test(name) ? 'csv' : 'ndjson');

    const open = (name: string): Tracked | null => {
      const full = path.join(config.directory, name);
      let fd: number;
      try {
        fd = openSync(full, 'r');
      } catch {
        return null; // gone between listing and opening
      }
      const ino = fstatSync(fd).ino;
      const stored = ctx.offset({ file: name });
      let position = 0;
      let header: string[] | null = null;
      if (stored && Number(stored['ino']) === ino) {
        position = Number(stored['position'] ?? 0);
        header = Array.isArray(stored['header']) ? (stored['header'] as string[]) : null;
      } else if (stored) {
        ctx.logger.info({ file: name }, 'file was replaced while stopped (another inode): reading the new one from the start');
      }
      return { name, fd, ino, position, header };
    };

    /** Reads what is complete in one file (all of it when `final`); returns its records. */
    const readFile = (t: Tracked, final: boolean, out: SourceRecord[]): void => {
      const size = fstatSync(t.fd).size;
      if (size < t.position) {
        ctx.logger.warn({ file: t.name, size, position: t.position }, 'file shrank (truncated): reading it again from the start');
        t.position = 0;
        t.header = null;
      }
      const format = formatOf(t.name);
      let want = config.readChunkBytes;
      while (t.position < size) {
        const len = Math.min(want, size - t.position);
        const buf = Buffer.allocUnsafe(len);
        const got = readSync(t.fd, buf, 0, len, t.position);
        const chunk = buf.subarray(0, got);
        const atEnd = t.position + got >= size;
        const { pieces, consumed } = format === 'csv' ? splitCsv(chunk, final && atEnd, config.csv.delimiter) : splitLines(chunk, final && atEnd);
        if (pieces.length === 0 && consumed === 0) {
          if (atEnd) break; // an incomplete last record: wait for the rest
          // One record longer than a chunk: read a bigger piece.
          if (want >= 64 * 1024 * 1024) throw new ConnectError('RECORD_TOO_LARGE', `${t.name}: a record at byte ${t.position} is longer than 64 MiB`);
          want *= 2;
          continue;
        }
        const base = t.position;
        for (const p of pieces) {
          const at = base + p.start;
          const next = base + p.end;
          const partition: JsonObject = { file: t.name };
          let value: unknown;
          let error: ConnectError | null = null;
          if (format === 'ndjson') {
            try {
              value = JSON.parse(p.text);
            } catch (err) {
              error = new ConnectError('RECORD_INVALID', `${t.name} at byte ${at}: not valid JSON (${(err as Error).message})`);
            }
          } else {
            const fields = p.fields ?? [];
            if (config.csv.header && !config.csv.columns && t.header === null) {
              t.header = fields;
              t.position = next;
              continue;
            }
            const cols = config.csv.columns ?? t.header ?? [];
            if (fields.length !== cols.length) {
              error = new ConnectError('RECORD_INVALID', `${t.name} at byte ${at}: expected ${cols.length} fields (${cols.join(', ')}), got ${fields.length}`);
            } else {
              value = Object.fromEntries(cols.map((c, i) => [c, fields[i]]));
            }
          }
          const offset: JsonObject = { position: next, ino: t.ino, ...(t.header ? { header: t.header } : {}) };
          if (error) {
            out.push({ value: p.text, sourcePartition: partition, sourceOffset: offset, error });
          } else {
            const key = config.keyField && value && typeof value === 'object' ? ((value as Record<string, unknown>)[config.keyField] ?? null) : null;
            out.push({ value, key, sourcePartition: partition, sourceOffset: offset });
          }
          t.position = next;
        }
        if (out.length >= 10_000) break;
      }
    };

    return {
      async poll(signal) {
        const wait = lastScan + config.pollIntervalMs - Date.now();
        if (wait > 0) await ctx.sleep(wait, signal);
        if (signal.aborted) return [];
        lastScan = Date.now();
        const out: SourceRecord[] = [];
        let names: string[];
        try {
          names = readdirSync(config.directory).filter((n) => re.test(n) && ownerOf(n, of) === me).sort();
        } catch (err) {
          throw new ConnectError('SOURCE_FAILED', `cannot list ${config.directory}: ${(err as Error).message}`, { retriable: true });
        }
        const present = new Set(names);
        for (const name of names) {
          let t = tracked.get(name);
          let ino: number;
          try {
            ino = statSync(path.join(config.directory, name)).ino;
          } catch {
            continue;
          }
          if (t && t.ino !== ino) {
            // Rotated: finish the old file (its last line can no longer grow), then take the new one.
            readFile(t, true, out);
            closeSync(t.fd);
            tracked.delete(name);
            ctx.logger.info({ file: name }, 'file rotated: finished the old one, reading the new one from the start');
            const fresh = open(name);
            if (!fresh) continue;
            // The partition now belongs to the new inode: start at 0.
            fresh.position = fresh.ino === t.ino ? fresh.position : 0;
            fresh.header = fresh.ino === t.ino ? fresh.header : null;
            t = fresh;
            tracked.set(name, t);
          }
          if (!t) {
            const opened = open(name);
            if (!opened) continue;
            t = opened;
            tracked.set(name, t);
          }
          readFile(t, false, out);
          if (out.length >= 10_000) break;
        }
        for (const [name, t] of tracked) {
          if (!present.has(name)) {
            readFile(t, true, out); // deleted or renamed away: read what is left
            closeSync(t.fd);
            tracked.delete(name);
          }
        }
        return out;
      },
      async stop() {
        for (const t of tracked.values()) closeSync(t.fd);
        tracked.clear();
      },
    };
  },
});
