/** Facts about the machine a benchmark ran on, stored with every result. */
import { execFileSync } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeWorkDir, removeWorkDir } from './workdir.ts';

export interface DiskFacts {
  /** Where the benchmark data lives (bench/.work). */
  path: string;
  /** File-system type (`findmnt`), e.g. "ext4", "xfs", "tmpfs", "overlay". */
  filesystem: string;
  /** 4 KiB appends, each followed by fdatasync, per second (about one second of probing). */
  fdatasync4kPerSec: number;
  note: string;
}

export interface MachineFacts {
  hostname: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  kernel: string;
  node: string;
  disk: DiskFacts;
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine skews figures. */
  loadAverage: number[];
}

function osName(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? os.type();
  } catch {
    return `${os.type()} ${os.release()}`;
  }
}

function fsType(dir: string): string {
  try {
    return execFileSync('findmnt', ['-n', '-o', 'FSTYPE', '-T', dir], { encoding: 'utf8' }).trim();
  } catch {
    try {
      return execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  }
}

/** How many durable small appends per second the disk takes: the ceiling for un-batched fsync acks. */
export function probeFdatasync(dir: string, budgetMs = 1000): number {
  const file = path.join(dir, 'fdatasync-probe');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096, 0x61);
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsedMs = 0;
  try {
    while (elapsedMs < budgetMs) {
      writeSync(fd, block);
      fdatasyncSync(fd);
      n++;
      elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return Math.round((n / elapsedMs) * 1000);
}

export function machineFacts(): MachineFacts {
  const cpus = os.cpus();
  const dir = makeWorkDir('probe');
  let disk: DiskFacts;
  try {
    const rate = probeFdatasync(dir);
    disk = {
      path: path.dirname(dir),
      filesystem: fsType(dir),
      fdatasync4kPerSec: rate,
      note: `4 KiB append + fdatasync ≈ ${rate.toLocaleString('en-US')}/s on this disk: an fsync-per-write system cannot exceed this; group commit batches many writes per fsync.`,
    };
  } finally {
    removeWorkDir(dir);
  }
  return {
    hostname: os.hostname(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: osName(),
    kernel: os.release(),
    node: process.version,
    disk,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
