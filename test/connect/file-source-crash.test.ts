/**
 * Exactly-once file source under SIGKILL: while a writer keeps appending lines to three files
 * (partial lines included), a child process tails them into a topic and is killed at random
 * moments, 20 times; at the end every line is in the topic exactly once. (Checked once: without
 * the start-up recovery of offsets from the log — `recoverOffsets` — lines written after the
 * last offset flush appear twice and this test fails.)
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openEmbeddedBus } from '../../src/bus/index.ts';
import { tempDirUntilExit } from '../helpers/temp-dir.ts';
import { readTopic } from './helpers.ts';

const CHILD = path.join(import.meta.dirname, 'fixtures', 'file-source-child.ts');
const KILLS = 20;

function start(dir: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('started') && resolve(child));
    child.once('exit', (code, signal) => signal === null && reject(new Error(`child exited with ${code}: ${err}`)));
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    child.once('exit', () => r());
    child.kill('SIGKILL');
  });
}

describe('file source exactly once under SIGKILL', () => {
  it(`every appended line reaches the topic once across ${KILLS} kills`, { timeout: 600_000 }, async () => {
    const dir = await tempDirUntilExit('tributary-file-crash-');
    mkdirSync(path.join(dir, 'in'));
    const files = ['a', 'b', 'c'].map((f) => path.join(dir, 'in', `${f}.ndjson`));
    let written = 0;
    let pending = ['', '', ''];
    const MAX_LINES = 4000; // bounded: the writer stops after this many lines (~150 lines/s)
    const writeSome = () => {
      for (let k = 0; k < 3 && written < MAX_LINES; k++) {
        const f = written % 3;
        const line = JSON.stringify({ f, n: written++ }) + '\n';
        // Split lines across writes, so the reader meets partial lines.
        const cut = Math.floor(line.length / 2);
        appendFileSync(files[f]!, pending[f] + line.slice(0, cut));
        pending[f] = line.slice(cut);
      }
    };
    const writer = setInterval(writeSome, 20);
    let seed = 99;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    try {
      for (let k = 0; k < KILLS; k++) {
        const child = await start(dir);
        await new Promise((r) => setTimeout(r, 50 + random() * 900));
        await kill(child);
      }
    } finally {
      clearInterval(writer);
    }
    files.forEach((f, i) => appendFileSync(f, pending[i]!));
    pending = ['', '', ''];
    const expected = written;
    const last = await start(dir);
    await untilCount(last, expected);
    await kill(last);
    const bus = await openEmbeddedBus({ dataDir: path.join(dir, 'data') });
    const recs = await readTopic(bus, 'lines');
    await bus.close();
    const ns = recs.map((r) => JSON.parse(r.value!.toString()).n as number);
    const seen = new Map<number, number>();
    for (const n of ns) seen.set(n, (seen.get(n) ?? 0) + 1);
    const dups = [...seen].filter(([, c]) => c > 1).length;
    assert.equal(dups, 0, `${dups} lines appear more than once`);
    assert.equal(seen.size, expected, 'every line is there');
    // Per file, in the order written.
    for (const f of [0, 1, 2]) {
      const mine = recs.map((r) => JSON.parse(r.value!.toString())).filter((v) => v.f === f).map((v) => v.n as number);
      assert.deepEqual(mine, [...mine].sort((a, b) => a - b));
    }
  });
});

/** Resolves when the child reports at least `expected` records in the topic (it prints `count N`). */
function untilCount(child: ChildProcess, expected: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the last run did not reach ${expected} records in 5 minutes`)), 300_000);
    child.stdout!.on('data', (d: Buffer) => {
      for (const m of d.toString().matchAll(/count (\d+)/g)) {
        if (Number(m[1]) >= expected) {
          clearTimeout(timer);
          resolve();
        }
      }
    });
  });
}
