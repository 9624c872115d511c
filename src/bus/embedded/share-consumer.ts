/** In-process member of a share group (queue semantics); see log/share/share-coordinator.ts. */
import { randomUUID } from 'node:crypto';
import type { Log } from '../../log/log.ts';
import type { ShareCoordinator, ShareGroupConfig } from '../../log/share/share-coordinator.ts';
import { BusError } from '../errors.ts';
import type { AckKind, BusShareConsumer, SharedRecord, ShareConsumerOptions } from '../types.ts';

export class EmbeddedShareConsumer implements BusShareConsumer {
  private readonly memberId: string;
  private subscribed = false;
  private closed = false;

  constructor(
    private readonly log: Log,
    private readonly shares: ShareCoordinator,
    private readonly opts: ShareConsumerOptions,
  ) {
    this.memberId = `${opts.clientId ?? 'share-consumer'}-${randomUUID()}`;
  }

  async subscribe(topics: string[]): Promise<void> {
    this.assertOpen();
    const { lockTimeoutMs, maxDeliveries, deadLetterTopic, fromBeginning } = this.opts;
    const config: Partial<ShareGroupConfig> = {};
    if (lockTimeoutMs !== undefined) config.lockTimeoutMs = lockTimeoutMs;
    if (maxDeliveries !== undefined) config.maxDeliveries = maxDeliveries;
    if (deadLetterTopic !== undefined) config.deadLetterTopic = deadLetterTopic;
    if (fromBeginning !== undefined) config.fromBeginning = fromBeginning;
    await this.shares.join(this.opts.groupId, this.memberId, topics, config);
    this.subscribed = true;
  }

  async poll(opts: { timeoutMs?: number; maxRecords?: number } = {}): Promise<SharedRecord[]> {
    this.assertOpen();
    if (!this.subscribed) throw new BusError('NOT_SUBSCRIBED', 'call subscribe() before poll()');
    const deadline = Date.now() + (opts.timeoutMs ?? 1000);
    for (;;) {
      const got = await this.shares.acquire(this.opts.groupId, this.memberId, opts.maxRecords ?? 500);
      if (got.length > 0 || this.closed) return got;
      const left = deadline - Date.now();
      if (left <= 0) return [];
      // Wake on new data, or when the soonest lock expires (a redelivery becomes possible).
      const expiry = this.shares.nextLockExpiry(this.opts.groupId);
      const wait = Math.max(1, Math.min(left, expiry === null ? left : expiry - Date.now() + 1, 1000));
      const ac = new AbortController();
      const watches = this.shares.watchList(this.opts.groupId).map((w) => this.log.partition(w.topic, w.partition).waitForData(w.offset, wait, ac.signal));
      await Promise.race([...watches, new Promise((r) => setTimeout(r, wait).unref())]);
      ac.abort();
    }
  }

  async acknowledge(record: SharedRecord, kind: AckKind = 'accept'): Promise<void> {
    this.assertOpen();
    await this.shares.acknowledge(this.opts.groupId, this.memberId, [{ topic: record.topic, partition: record.partition, offset: record.offset, kind, deliveryCount: record.deliveryCount }]);
  }

  private assertOpen(): void {
    if (this.closed) throw new BusError('CONSUMER_CLOSED', 'share consumer is closed');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.shares.leave(this.opts.groupId, this.memberId);
  }
}
