/**
 * Compaction planning (pure): which small files of a table to merge into which outputs.
 *
 * Per partition, files smaller than `smallFileBytes` are taken in commit order (so merged rows
 * keep their order) and packed greedily into groups of at most `targetFileBytes`; a group of
 * one file gains nothing and is dropped, and a partition with fewer than `minInputFiles` small
 * files is left alone. Large files are never rewritten.
 */
import { partitionKey } from '../partition.ts';
import type { DataFile, PartitionValues } from '../types.ts';

export interface CompactionGroup {
  partition: PartitionValues;
  fileIds: number[];
  bytes: number;
  rows: number;
}

export function planCompaction(
  files: readonly DataFile[],
  opts: { targetFileBytes: number; smallFileBytes: number; minInputFiles: number },
): CompactionGroup[] {
  const byPartition = new Map<string, DataFile[]>();
  for (const f of files) {
    if (f.bytes >= opts.smallFileBytes) continue;
    const k = partitionKey(f.partition);
    let list = byPartition.get(k);
    if (!list) byPartition.set(k, (list = []));
    list.push(f);
  }
  const groups: CompactionGroup[] = [];
  for (const k of [...byPartition.keys()].sort()) {
    const small = byPartition.get(k)!.sort((a, b) => a.id - b.id);
    if (small.length < Math.max(2, opts.minInputFiles)) continue;
    let current: CompactionGroup | null = null;
    const flush = () => {
      if (current && current.fileIds.length >= 2) groups.push(current);
      current = null;
    };
    for (const f of small) {
      if (current && current.bytes + f.bytes > opts.targetFileBytes) flush();
      current ??= { partition: f.partition, fileIds: [], bytes: 0, rows: 0 };
      current.fileIds.push(f.id);
      current.bytes += f.bytes;
      current.rows += f.rows;
    }
    flush();
  }
  return groups;
}
