/**
 * What source and sink task runners share: the task's state (RUNNING / PAUSED / FAILED with the
 * error / UNASSIGNED), pausing and resuming the loop, stopping it, and the dependencies a task
 * needs (bus, producer, governance, converters, transforms, metrics).
 */
import type { Logger } from 'pino';
import type { Bus, BusProducer, ProducerRecord } from '../../bus/types.ts';
import { AccessDeniedError, type Action, type Governance, type Principal } from '../../govern/index.ts';
import type { Counter } from '../../monitor/metrics.ts';
import { errorMessage } from '../errors.ts';
import type { TransformChain } from '../transforms/index.ts';
import type { CommonConfig, ConnectorPlugin, JsonObject } from '../types.ts';
import type { Converter } from './converters.ts';
import { deadLetterRecord, type DeadLetterInput, type ErrorStage } from './dead-letter.ts';
import type { OffsetStore } from './offsets.ts';
import { sleep } from './retry.ts';

export type TaskState = 'UNASSIGNED' | 'RUNNING' | 'PAUSED' | 'FAILED';

export interface ConnectMetrics {
  records: Counter<'connector' | 'direction'>;
  errors: Counter<'connector' | 'stage'>;
  deadLettered: Counter<'connector'>;
  retries: Counter<'connector'>;
}

export interface TaskEnv {
  connector: string;
  taskId: number;
  plugin: ConnectorPlugin;
  config: CommonConfig;
  taskConfig: JsonObject;
  bus: Bus;
  producer: BusProducer;
  offsets: OffsetStore;
  governance: Governance;
  principal: Principal;
  logger: Logger;
  metrics: ConnectMetrics | null;
  chain: TransformChain;
  keyConverter: Converter;
  valueConverter: Converter;
  /** How often source offsets are stored (ms). */
  offsetFlushIntervalMs: number;
}

export abstract class TaskRunner {
  state: TaskState = 'UNASSIGNED';
  trace: string | null = null;
  protected readonly abort = new AbortController();
  protected readonly log: Logger;
  private paused = false;
  private resumeWake: (() => void) | null = null;
  private loop: Promise<void> | null = null;

  constructor(readonly env: TaskEnv) {
    this.log = env.logger.child({ connector: env.connector, task: env.taskId });
  }

  get id(): number {
    return this.env.taskId;
  }

  /** Starts the task's loop in the background (paused when asked). */
  start(paused: boolean): void {
    this.paused = paused;
    this.state = paused ? 'PAUSED' : 'RUNNING';
    this.loop = this.run().catch((err) => {
      if (this.stopping && this.state !== 'FAILED') this.log.info({ err: errorMessage(err) }, 'task stopped while its work was failing');
      else this.fail(err);
    });
  }

  pause(): void {
    if (this.state === 'FAILED') return;
    this.paused = true;
    this.state = 'PAUSED';
  }

  resume(): void {
    if (this.state === 'FAILED') return;
    this.paused = false;
    this.state = 'RUNNING';
    this.resumeWake?.();
  }

  /** Stops the loop (finishing the current batch and storing its offsets) and the task. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.resumeWake?.();
    await this.loop;
    if (this.state !== 'FAILED') this.state = 'UNASSIGNED';
  }

  get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  protected fail(err: unknown): void {
    this.state = 'FAILED';
    this.trace = err instanceof Error ? `${(err as { code?: string }).code ? `${(err as { code?: string }).code}: ` : ''}${err.message}` : String(err);
    this.log.error({ err }, 'connector task failed; fix the cause and restart it (POST /api/connectors/<name>/restart)');
  }

  protected async waitWhilePaused(): Promise<void> {
    while (this.paused && !this.stopping) {
      await new Promise<void>((resolve) => {
        this.resumeWake = resolve;
        setTimeout(resolve, 1000).unref();
      });
      this.resumeWake = null;
    }
  }

  protected sleep(ms: number): Promise<void> {
    return sleep(ms, this.abort.signal);
  }

  protected authorize(action: Action, topic: string): void {
    const resource = { type: 'topic' as const, name: topic };
    if (!this.env.governance.check(this.env.principal, action, resource, 'connect')) {
      throw new AccessDeniedError(this.env.principal, action, resource);
    }
  }

  protected countError(stage: ErrorStage): void {
    this.env.metrics?.errors.inc({ connector: this.env.connector, stage });
  }

  /**
   * A record that cannot go on: with `errors.tolerance: none` the error is rethrown (the task
   * fails); with `all` it is logged and, when a dead-letter topic is set, written there.
   * Resolves once the dead-letter record is durable.
   */
  protected async tolerate(stage: ErrorStage, error: Error, dl: Omit<DeadLetterInput, 'connector' | 'taskId' | 'stage' | 'error'>): Promise<void> {
    this.countError(stage);
    const errors = this.env.config.errors;
    if (errors.tolerance === 'none') throw error;
    if (errors.log) this.log.warn({ stage, err: errorMessage(error), origin: dl.origin, sourcePartition: dl.sourcePartition, sourceOffset: dl.sourceOffset }, 'skipping a record that failed');
    const topic = errors.deadLetterTopic;
    if (!topic) return;
    this.authorize('write', topic);
    const rec: ProducerRecord = deadLetterRecord({ connector: this.env.connector, taskId: this.env.taskId, stage, error, ...dl });
    await this.env.producer.send(topic, [rec]);
    this.env.metrics?.deadLettered.inc({ connector: this.env.connector });
  }

  protected abstract run(): Promise<void>;
}
