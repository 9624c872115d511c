/**
 * Built-in sensors: conditions the engine checks itself (it holds the bus, the lake and the file
 * system), so they never occupy a worker slot — between checks the task waits in
 * `up_for_reschedule`. Pass one to `dag.sensor(id, sensors.…(…), { pokeIntervalMs, timeoutMs })`.
 */
import type { BuiltinSensorSpec } from './dag.ts';
import type { SensorArgs, SensorTiming } from './types.ts';

export const sensors = {
  /**
   * A file (or directory) exists.
   * @example sensors.file((a) => `/data/export-${a.interval.start.toISOString().slice(0, 10)}.csv`)
   */
  file(path: string | ((args: SensorArgs) => string), timing: SensorTiming = {}): BuiltinSensorSpec {
    return { ...timing, builtin: { kind: 'file', path } };
  },

  /**
   * A topic's end offset reached `offset`: in `partition`, or summed over all partitions.
   * The sensor's output is the end offset it saw.
   * @example sensors.topicOffset({ topic: 'shop.orders', offset: 1000 })
   */
  topicOffset(opts: { topic: string; offset: number | ((args: SensorArgs) => number); partition?: number }, timing: SensorTiming = {}): BuiltinSensorSpec {
    return { ...timing, builtin: { kind: 'topic-offset', topic: opts.topic, offset: opts.offset, ...(opts.partition !== undefined ? { partition: opts.partition } : {}) } };
  },

  /**
   * A dataset (lake table, model) got a new snapshot since the run's interval started (or ended,
   * or the run was created). Fed by `onDatasetUpdated(name)`. The output is the event's info.
   * @example sensors.dataset('lake.orders', { since: 'interval-end' })
   */
  dataset(name: string, opts: { since?: 'interval-start' | 'interval-end' | 'run-created' } & SensorTiming = {}): BuiltinSensorSpec {
    const { since, ...timing } = opts;
    return { ...timing, builtin: { kind: 'dataset', dataset: name, since: since ?? 'interval-start' } };
  },

  /**
   * A lake table has a partition (e.g. `{ dt: '2026-01-01', hour: '00' }`). Needs the lake part.
   * @example sensors.lakePartition('raw.orders', (a) => ({ dt: a.interval.start.toISOString().slice(0, 10) }))
   */
  lakePartition(
    table: string,
    partition: Record<string, string> | ((args: SensorArgs) => Record<string, string>),
    timing: SensorTiming = {},
  ): BuiltinSensorSpec {
    return { ...timing, builtin: { kind: 'lake-partition', table, partition } };
  },
};
