/**
 * Built-in sensors, evaluated by the engine host (the process running the worker loop), which
 * holds the bus, the lake and the flow store — user code in child processes holds none of them.
 * A check is quick and never blocks: "not yet" releases the task until its next poke.
 */
import { stat } from 'node:fs/promises';
import type { Bus } from '../../bus/types.ts';
import type { BuiltinTrigger, SensorArgs } from '../define/types.ts';
import { FlowError } from '../errors.ts';
import type { FlowStore } from '../store/flow-store.ts';

/** What the lake offers flow sensors (the lake part implements it; absent until the lake exists). */
export interface LakeProbe {
  partitionExists(table: string, partition: Record<string, string>): Promise<boolean>;
}

import type { WarehouseResolver } from './host-warehouse.ts';

export interface HostEnv {
  store: FlowStore;
  bus?: Bus | null;
  lake?: LakeProbe | null;
  /** The warehouse tasks reach through `ctx.sql` / `ctx.models` (resolved at call time). */
  warehouse?: WarehouseResolver | null;
}

export interface HostCheck {
  done: boolean;
  value?: unknown;
  /** Shown in the task log. */
  detail: string;
}

function resolve<T>(v: T | ((a: SensorArgs) => T), args: SensorArgs): T {
  return typeof v === 'function' ? (v as (a: SensorArgs) => T)(args) : v;
}

/** Kinds a host can evaluate (a worker without a bus must not claim topic sensors). */
export function hostCanEvaluate(trigger: BuiltinTrigger, env: HostEnv): boolean {
  if (trigger.kind === 'topic-offset') return Boolean(env.bus);
  if (trigger.kind === 'lake-partition') return Boolean(env.lake);
  return true;
}

export async function checkBuiltin(trigger: BuiltinTrigger, args: SensorArgs & { runCreatedAt: number }, env: HostEnv): Promise<HostCheck> {
  switch (trigger.kind) {
    case 'file': {
      const p = resolve(trigger.path, args);
      try {
        const s = await stat(p);
        return { done: true, value: { path: p, size: s.size, mtime: s.mtime.toISOString() }, detail: `${p} exists (${s.size} bytes)` };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { done: false, detail: `${p} does not exist yet` };
        throw err;
      }
    }
    case 'topic-offset': {
      if (!env.bus) throw new FlowError('BAD_REQUEST', `topic sensor on ${trigger.topic}: this process has no bus; run it where \`tributary up\` runs or configure broker.external`);
      const target = resolve(trigger.offset, args);
      const d = await env.bus.admin().describeTopic(trigger.topic);
      const parts = trigger.partition === undefined ? d.partitions : d.partitions.filter((p) => p.partition === trigger.partition);
      if (trigger.partition !== undefined && parts.length === 0) {
        throw new FlowError('BAD_REQUEST', `topic sensor: ${trigger.topic} has no partition ${trigger.partition} (it has ${d.partitions.length})`);
      }
      const end = parts.reduce((sum, p) => sum + p.highWatermark, 0);
      const where = trigger.partition === undefined ? `${trigger.topic} (all partitions)` : `${trigger.topic}[${trigger.partition}]`;
      return end >= target
        ? { done: true, value: { topic: trigger.topic, endOffset: end }, detail: `${where} reached offset ${end} ≥ ${target}` }
        : { done: false, detail: `${where} is at offset ${end}, waiting for ${target}` };
    }
    case 'dataset': {
      const since =
        trigger.since === 'interval-end' ? args.interval.end.getTime() : trigger.since === 'run-created' ? args.runCreatedAt : args.interval.start.getTime();
      const e = await env.store.latestDatasetEvent(trigger.dataset, since);
      return e
        ? { done: true, value: { dataset: trigger.dataset, at: new Date(e.at).toISOString(), info: e.info }, detail: `${trigger.dataset} updated at ${new Date(e.at).toISOString()}` }
        : { done: false, detail: `no update of ${trigger.dataset} since ${new Date(since).toISOString()}` };
    }
    case 'lake-partition': {
      if (!env.lake) throw new FlowError('BAD_REQUEST', `lake partition sensor on ${trigger.table}: the lake is not configured in this process`);
      const part = resolve(trigger.partition, args);
      const ok = await env.lake.partitionExists(trigger.table, part);
      const desc = Object.entries(part).map(([k, v]) => `${k}=${v}`).join('/');
      return ok ? { done: true, value: { table: trigger.table, partition: part }, detail: `${trigger.table}/${desc} exists` } : { done: false, detail: `${trigger.table}/${desc} not there yet` };
    }
  }
}
