/**
 * Two processes share one app through a consumer group over our Kafka protocol: each runs the
 * app on the external-cluster bus (at-least-once there: no transactions), pointed at a real
 * Tributary broker. The second process joins while records flow, the first leaves before the
 * end. No record is lost, and the idempotent state (set of ids per group) is exactly right.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { startTestBroker } from '../helpers/kafka-broker.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { eventually, readTopic } from './helpers/bus.ts';

const CHILD = path.join(import.meta.dirname, 'fixtures', 'scale-child.ts');

interface Child {
  proc: ChildProcess;
  ready: Promise<string>;
  maxTasks: number;
  tasks: number;
  exited: Promise<number | null>;
  stderr(): string;
}

function start(bootstrap: string, stateDir: string): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, bootstrap, stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const c: Child = {
    proc,
    maxTasks: 0,
    tasks: 0,
    ready: new Promise((resolve, reject) => {
      let buf = '';
      proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) {
          if (l.startsWith('READY')) resolve(l.slice(6));
          if (l.startsWith('T ')) {
            c.tasks = Number(l.split(' ')[1]);
            c.maxTasks = Math.max(c.maxTasks, c.tasks);
          }
        }
      });
      proc.once('exit', (code) => reject(new Error(`child exited (${code}) before READY: ${err}`)));
    }),
    exited: new Promise((resolve) => proc.once('exit', (code) => resolve(code))),
    stderr: () => err,
  };
  return c;
}

test('two processes share an app over the Kafka protocol: no loss, idempotent final state', { timeout: 300_000 }, async () => {
  const broker = await startTestBroker();
  const tmp = tempDir('tributary-scale-');
  const children: Child[] = [];
  try {
    await broker.bus.admin().createTopic('in', { partitions: 4 });
    const producer = broker.bus.producer({ lingerMs: 1 });
    let next = 0;
    const send = async (n: number) => {
      const recs = Array.from({ length: n }, () => {
        const id = next++;
        return { key: Buffer.from(`k${id % 13}`), value: Buffer.from(JSON.stringify({ id, g: `g${id % 5}` })) };
      });
      await producer.send('in', recs);
    };
    await send(200);
    const a = start(broker.bootstrap, path.join(tmp.dir, 'a'));
    children.push(a);
    assert.equal(await a.ready, 'at_least_once');
    await send(200);
    const b = start(broker.bootstrap, path.join(tmp.dir, 'b'));
    children.push(b);
    await b.ready;
    for (let i = 0; i < 10; i++) {
      await send(100);
      await new Promise((r) => setTimeout(r, 150));
    }
    await eventually(() => a.tasks > 0 && b.tasks > 0 && a.tasks + b.tasks === 8, 'both processes to own tasks', 60_000).catch((err: Error) => {
      throw new Error(`${err.message} (tasks: a ${a.maxTasks}, b ${b.maxTasks})\n${a.stderr()}\n${b.stderr()}`);
    });
    a.proc.kill('SIGTERM'); // leaves the group: b takes over every partition
    assert.equal(await a.exited, 0, a.stderr());
    await send(300);
    const total = next;
    await eventually(async () => new Set((await readTopic(broker.bus, 'out', { isolation: 'read_uncommitted' })).map((r) => Number(r.value!.toString()))).size === total, 'every id in the output', 120_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${b.stderr().slice(0, 4000)}`);
    });
    await eventually(async () => {
      const last = new Map<string, number[]>();
      for (const r of await readTopic(broker.bus, 'sets', { isolation: 'read_uncommitted' })) last.set(r.key!.toString(), JSON.parse(r.value!.toString()) as number[]);
      return [...last.values()].reduce((n, ids) => n + ids.length, 0) === total;
    }, 'final sets to hold every id', 120_000);
    const last = new Map<string, number[]>();
    for (const r of await readTopic(broker.bus, 'sets', { isolation: 'read_uncommitted' })) last.set(r.key!.toString(), JSON.parse(r.value!.toString()) as number[]);
    for (let g = 0; g < 5; g++) {
      const want = Array.from({ length: total }, (_, i) => i).filter((i) => i % 5 === g);
      assert.deepEqual(last.get(`g${g}`), want, `group g${g}`);
    }
    assert.ok(b.maxTasks === 8, `the remaining process took over all 8 tasks (had ${b.maxTasks})`);
  } finally {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
    await broker.close();
    tmp.cleanup();
  }
});
