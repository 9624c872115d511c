/**
 * Share groups (queue semantics, KIP-932) on an external cluster: not available. The client
 * library speaks only the classic and consumer group protocols, and share groups are an early
 * feature of Kafka 4.x that most clusters do not run. Emulating them client-side is not sound:
 * per-record locks, acknowledgements and delivery counts must live in one place that every
 * member sees atomically, which is exactly the share coordinator a cluster would provide.
 * Every method rejects with a BusError `UNSUPPORTED` that says so.
 */
import type { AckKind, BusShareConsumer, SharedRecord, ShareConsumerOptions } from '../types.ts';
import { BusUnsupportedError } from './errors.ts';

export class UnsupportedShareConsumer implements BusShareConsumer {
  constructor(private readonly opts: ShareConsumerOptions) {}

  private error(): BusUnsupportedError {
    return new BusUnsupportedError(
      `share group ${this.opts.groupId}: share consumers (queue semantics) are not available with an external Kafka cluster; ` +
        'use a consumer group (bus.consumer({ groupId })), or the embedded broker',
    );
  }

  async subscribe(_topics: string[]): Promise<void> {
    throw this.error();
  }

  async poll(_opts?: { timeoutMs?: number; maxRecords?: number }): Promise<SharedRecord[]> {
    throw this.error();
  }

  async acknowledge(_record: SharedRecord, _kind?: AckKind): Promise<void> {
    throw this.error();
  }

  async close(): Promise<void> {}
}
