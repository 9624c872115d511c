/**
 * Kafka's default partitioning: murmur2 of the key bytes, made positive, modulo the partition
 * count — identical to the Java client and KafkaJS, so keyed records land in the same
 * partition whoever produces them (co-partitioned joins depend on it).
 */

/** Kafka's murmur2 (seed 0x9747b28c) as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return (murmur2(key) & 0x7fffffff) % numPartitions;
}

/**
 * Partition choice for a producer: explicit partition, else murmur2 of the key, else the
 * sticky partition for keyless records (one partition per batch, switching when a batch is
 * sent, as Kafka's sticky partitioner does — big batches instead of many tiny ones).
 */
export class Partitioner {
  private sticky = new Map<string, number>();
  private counter = Math.floor(Math.random() * 1024);

  choose(topic: string, numPartitions: number, key: Uint8Array | null | undefined, explicit?: number): number {
    if (explicit !== undefined) return explicit;
    if (key) return partitionForKey(key, numPartitions);
    let p = this.sticky.get(topic);
    if (p === undefined || p >= numPartitions) {
      p = this.counter++ % numPartitions;
      this.sticky.set(topic, p);
    }
    return p;
  }

  /** Called when a keyless batch for `topic` was sent: the next records go elsewhere. */
  batchSent(topic: string): void {
    this.sticky.delete(topic);
  }
}
