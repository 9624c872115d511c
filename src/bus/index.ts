/** The bus: produce/consume for every part of Tributary. */
import { EmbeddedBus, type EmbeddedBusOptions } from './embedded/embedded-bus.ts';

export * from './types.ts';
export { BusError } from './errors.ts';
export { murmur2, partitionForKey, Partitioner } from './partitioner.ts';
export { rangeAssignor, roundRobinAssignor } from './assignors.ts';
export { EmbeddedBus, type EmbeddedBusOptions };

/**
 * Opens the embedded bus over a data directory.
 * @example
 * const bus = await openEmbeddedBus({ dataDir: './.tributary' });
 * await bus.admin().createTopic('orders', { partitions: 3 });
 * await bus.producer().send('orders', [{ key: Buffer.from('u1'), value: Buffer.from('{"total":5}') }]);
 */
export function openEmbeddedBus(opts: EmbeddedBusOptions): Promise<EmbeddedBus> {
  return EmbeddedBus.open(opts);
}
