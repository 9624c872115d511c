/**
 * File sink: appends records to NDJSON files, one line per record, and fsyncs them before the
 * consumer offsets are committed (at-least-once: a crash after the fsync and before the commit
 * writes those lines again). `path` may name the topic and partition: `out/${topic}-${partition}.ndjson`.
 *
 * Lines are the record value (`format: 'value'`, default) or the whole record with its log
 * position (`format: 'record'`: `{ topic, partition, offset, timestamp, key, value, headers }`).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { str } from '../../../util/schema.ts';
import { defineSinkPlugin } from '../../types.ts';

export const FILE_SINK_FIELDS = {
  path: str('a file path (may contain ${topic} and ${partition})'),
  format: z.enum(['value', 'record']).default('value'),
};

export const fileSinkPlugin = defineSinkPlugin({
  name: 'file-sink',
  description: 'appends records to NDJSON files (fsync before commit)',
  fields: FILE_SINK_FIELDS,
  createTask(config) {
    const files = new Map<string, number>();
    const dirty = new Set<number>();
    const fdFor = (topic: string, partition: number): number => {
      const p = config.path.replaceAll('${topic}', topic).replaceAll('${partition}', String(partition));
      let fd = files.get(p);
      if (fd === undefined) {
        mkdirSync(path.dirname(p), { recursive: true });
        fd = openSync(p, 'a');
        files.set(p, fd);
      }
      return fd;
    };
    return {
      async put(records) {
        const byFd = new Map<number, string[]>();
        for (const r of records) {
          const fd = fdFor(r.topic, r.partition);
          const line =
            config.format === 'record'
              ? JSON.stringify({
                  topic: r.topic,
                  partition: r.partition,
                  offset: r.offset,
                  timestamp: r.timestamp,
                  key: r.key,
                  value: r.value,
                  headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value === null ? null : Buffer.isBuffer(h.value) ? h.value.toString('utf8') : h.value])),
                })
              : JSON.stringify(r.value);
          let list = byFd.get(fd);
          if (!list) byFd.set(fd, (list = []));
          list.push(line);
        }
        for (const [fd, lines] of byFd) {
          writeSync(fd, lines.join('\n') + '\n');
          dirty.add(fd);
        }
      },
      async flush() {
        for (const fd of dirty) fsyncSync(fd);
        dirty.clear();
      },
      async stop() {
        for (const fd of files.values()) {
          fsyncSync(fd);
          closeSync(fd);
        }
        files.clear();
      },
    };
  },
});
