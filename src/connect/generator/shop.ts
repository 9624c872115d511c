/**
 * The shop generator: emits the shop event stream in real time through a BusProducer.
 *
 * Every `tickMs` it produces the events whose event time has come, one `send` per topic, and
 * waits for their acknowledgements before the next tick, so a slow log slows the generator
 * down instead of piling up records in memory. When it falls more than `maxLagMs` behind the
 * wall clock (a paused process, a slow disk) it skips ahead rather than bursting to catch up;
 * the skipped count is in `stats()` and the `tributary_generator_skipped_events_total` metric.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { BusProducer, ProducerRecord } from '../../bus/types.ts';
import { counter } from '../../monitor/metrics.ts';
import { ShopEventStream, type ShopEvent, type ShopEventStreamOptions } from './shop-events.ts';

export interface ShopGeneratorOptions extends ShopEventStreamOptions {
  producer: BusProducer;
  logger?: Logger;
  registry?: Registry;
  /** How often due events are sent (default 100 ms). */
  tickMs?: number;
  /** How far behind the wall clock the generator may fall before it skips ahead (default 5 s). */
  maxLagMs?: number;
  /** Name in logs and metric labels (default `shop`). */
  name?: string;
}

export interface GeneratorStats {
  running: boolean;
  produced: number;
  skipped: number;
  errors: number;
  lastError: string | null;
}

export function encodeShopEvent(event: ShopEvent): ProducerRecord {
  return {
    key: Buffer.from(event.key),
    value: Buffer.from(JSON.stringify(event.value)),
    headers: [{ key: 'event-type', value: Buffer.from(event.kind) }],
    timestamp: event.timestamp,
  };
}

/**
 * @example
 * ```ts
 * const gen = new ShopGenerator({ producer: bus.producer(), ratePerSecond: 50, seed: 7 });
 * gen.start();
 * // … events flow to shop.searches, shop.orders, shop.reviews, shop.deliveries, shop.pos-sales
 * await gen.stop();
 * ```
 */
export class ShopGenerator {
  readonly name: string;
  readonly stream: ShopEventStream;
  private readonly producer: BusProducer;
  private readonly logger: Logger | undefined;
  private readonly tickMs: number;
  private readonly maxLagMs: number;
  private readonly maxBatch: number;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private stopped = true;
  private produced = 0;
  private skipped = 0;
  private errors = 0;
  private lastError: string | null = null;
  private lastErrorLoggedAt = 0;
  private readonly metrics;

  constructor(opts: ShopGeneratorOptions) {
    this.name = opts.name ?? 'shop';
    this.producer = opts.producer;
    this.logger = opts.logger;
    this.tickMs = opts.tickMs ?? 100;
    this.maxLagMs = opts.maxLagMs ?? 5000;
    const rate = opts.ratePerSecond ?? 50;
    this.maxBatch = Math.max(1, Math.ceil((rate * (this.maxLagMs + this.tickMs)) / 1000));
    this.stream = new ShopEventStream(opts);
    this.metrics = opts.registry
      ? {
          events: counter(opts.registry, {
            name: 'tributary_generator_events_total',
            help: 'Events produced by built-in generators.',
            labelNames: ['generator', 'topic'],
          }),
          skipped: counter(opts.registry, {
            name: 'tributary_generator_skipped_events_total',
            help: 'Events a generator skipped because it fell behind the wall clock.',
            labelNames: ['generator'],
          }),
          errors: counter(opts.registry, {
            name: 'tributary_generator_errors_total',
            help: 'Failed sends of built-in generators.',
            labelNames: ['generator'],
          }),
        }
      : null;
  }

  /** The five topics this generator writes. */
  topicNames(): string[] {
    return Object.values(this.stream.topics);
  }

  get running(): boolean {
    return !this.stopped;
  }

  stats(): GeneratorStats {
    return { running: this.running, produced: this.produced, skipped: this.skipped, errors: this.errors, lastError: this.lastError };
  }

  /** Starts emitting from now on; calling it while running does nothing. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stream.advanceTo(Date.now());
    this.schedule(0);
  }

  /** Stops and waits for the sends in flight to be acknowledged. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.inFlight = this.tick().finally(() => {
        this.inFlight = null;
        this.schedule(this.tickMs);
      });
    }, delay);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    const behind = now - this.stream.clock;
    if (behind > this.maxLagMs) {
      const before = this.stream.clock;
      this.stream.advanceTo(now - this.tickMs);
      const n = Math.round((this.stream.clock - before) / this.stream.intervalMs);
      this.skipped += n;
      this.metrics?.skipped.inc({ generator: this.name }, n);
      this.logger?.warn({ generator: this.name, behindMs: behind }, 'generator fell behind; skipping ahead');
    }
    const byTopic = new Map<string, ProducerRecord[]>();
    let count = 0;
    while (this.stream.clock <= now && count < this.maxBatch) {
      const event = this.stream.next();
      let list = byTopic.get(event.topic);
      if (!list) byTopic.set(event.topic, (list = []));
      list.push(encodeShopEvent(event));
      count++;
    }
    if (count === 0) return;
    const results = await Promise.allSettled(
      [...byTopic].map(async ([topic, records]) => {
        await this.producer.send(topic, records);
        this.produced += records.length;
        this.metrics?.events.inc({ generator: this.name, topic }, records.length);
      }),
    );
    for (const r of results) {
      if (r.status === 'fulfilled') continue;
      this.errors++;
      this.metrics?.errors.inc({ generator: this.name });
      const err = r.reason as Error;
      this.lastError = err?.message ?? String(err);
      if (Date.now() - this.lastErrorLoggedAt > 10_000) {
        this.lastErrorLoggedAt = Date.now();
        this.logger?.error({ generator: this.name, err }, 'generator failed to produce; will keep trying');
      }
    }
  }
}
