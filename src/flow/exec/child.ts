/**
 * Entry of a worker child process: loads DAG files on demand (cached), runs one attempt at a
 * time, streams its log and returns its result over IPC. Exits when the parent goes away, so a
 * killed `tributary up` or worker never leaves orphans running tasks.
 */
import { loadDagFile } from '../loader/load-dags.ts';
import type { Dag } from '../define/dag.ts';
import { describeThrown } from '../errors.ts';
import { preciseNow } from '../engine/clock.ts';
import { runAttempt } from './runner.ts';
import type { Invocation, InvocationResult, TaskServices } from './types.ts';

type ToChild =
  | { type: 'run'; inv: Invocation }
  | { type: 'abort'; id: string; code: string; message: string }
  | { type: 'rpc-result'; rpcId: number; ok: boolean; value?: unknown; error?: { message: string; code?: string; position?: unknown } }
  | { type: 'exit' };

// Host services by IPC: the parent performs the call (it holds the bus and the warehouse) and answers.
let rpcSeq = 0;
const rpcWaiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
function rpc(method: string, args: unknown[]): Promise<unknown> {
  const rpcId = ++rpcSeq;
  return new Promise((resolve, reject) => {
    rpcWaiting.set(rpcId, { resolve, reject });
    send({ type: 'rpc', id: current?.id, rpcId, method, args });
  });
}
const services: TaskServices = {
  topics: {
    read: (topic, opts) => rpc('topics.read', [topic, opts ?? {}]) as never,
    write: (topic, records) => rpc('topics.write', [topic, records]) as never,
  },
  // The host audits with the ids of the attempt it dispatched; `caller` is informational here.
  warehouse: {
    // The host passes the attempt's abort signal itself (an AbortSignal does not cross IPC).
    sql: (caller, query, params, opts) => rpc('warehouse.sql', [caller, query, params, opts]) as never,
    build: (caller, opts) => rpc('warehouse.build', [caller, opts]) as never,
    test: (caller, opts) => rpc('warehouse.test', [caller, opts]) as never,
  },
};

const modules = new Map<string, Promise<Dag[]>>();
let current: { id: string; controller: AbortController } | null = null;

function send(msg: unknown): void {
  if (process.connected) process.send!(msg);
}

async function findDag(inv: Invocation): Promise<Dag> {
  if (!inv.dagFile) throw new Error(`dag ${inv.dagId} was not loaded from a file; the process executor needs DAG files (use mode 'inline' for DAGs defined in code)`);
  let p = modules.get(inv.dagFile);
  if (!p) {
    p = loadDagFile(inv.dagFile);
    modules.set(inv.dagFile, p);
    p.catch(() => modules.delete(inv.dagFile!));
  }
  const dag = (await p).find((d) => d.id === inv.dagId);
  if (!dag) throw new Error(`${inv.dagFile} no longer defines dag ${inv.dagId}`);
  return dag;
}

async function run(inv: Invocation): Promise<void> {
  const controller = new AbortController();
  current = { id: inv.id, controller };
  let result: InvocationResult;
  const write = (text: string) => send({ type: 'log', id: inv.id, text });
  try {
    const dag = await findDag(inv);
    const def = dag.tasks.get(inv.taskId);
    if (!def) throw new Error(`dag ${inv.dagId} has no task ${inv.taskId} (was the file changed?)`);
    result = await runAttempt(dag, def, inv, controller.signal, write, services);
  } catch (err) {
    const t = preciseNow();
    result = { kind: 'failure', error: describeThrown(err), code: 'DAG_LOAD_FAILED', retriable: true, startedAt: t, endedAt: t };
  }
  current = null;
  send({ type: 'done', id: inv.id, result, rss: process.memoryUsage().rss });
}

process.on('message', (msg: ToChild) => {
  if (msg.type === 'run') void run(msg.inv);
  else if (msg.type === 'abort') {
    if (current?.id === msg.id) current.controller.abort(Object.assign(new Error(msg.message), { code: msg.code }));
  } else if (msg.type === 'rpc-result') {
    const w = rpcWaiting.get(msg.rpcId);
    if (!w) return;
    rpcWaiting.delete(msg.rpcId);
    if (msg.ok) w.resolve(msg.value);
    else w.reject(Object.assign(new Error(msg.error?.message ?? 'host call failed'), { code: msg.error?.code, ...(msg.error?.position ? { position: msg.error.position } : {}) }));
  } else if (msg.type === 'exit') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
// A task's stray rejection or exception must not go unnoticed: report it as the task's failure
// and exit (the parent starts a fresh process).
const fatal = (err: unknown) => {
  const text = `${new Date().toISOString()} ERROR uncaught in the task process: ${describeThrown(err)}\n${err instanceof Error && err.stack ? err.stack + '\n' : ''}`;
  if (current) send({ type: 'log', id: current.id, text });
  process.exitCode = 70;
  setTimeout(() => process.exit(70), 20);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);
send({ type: 'ready', pid: process.pid });
