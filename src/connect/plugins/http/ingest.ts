/**
 * HTTP ingest source: `POST /ingest/<topic>` writes one record or a batch and answers, per
 * record, where it landed or why it did not (Kinesis PutRecords style: a batch answers 200 with
 * `failedRecordCount` and one result per record, in order).
 *
 * Design note. The endpoint does not write to the log itself: it hands records (each with a
 * result callback) to the connector's tasks, whose `poll()` returns them, so they go through the
 * runtime like any source record — transforms, converters, governance, metrics — and the answer
 * is sent once each record is durable. Back-pressure: a connector holds at most
 * `maxInFlightRecords` records that are not yet acknowledged; a request that would exceed it is
 * answered 429 with `Retry-After`, before anything of it is queued (nothing half-accepted).
 * Auth: `Authorization: Bearer <token>`; `tokens` maps each token to the principal it acts as,
 * and governance decides whether that principal may write the topic.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { z } from 'zod';
import { AccessDeniedError, type Governance } from '../../../govern/index.ts';
import { bool, num, str } from '../../../util/schema.ts';
import { ConnectError, errorMessage } from '../../errors.ts';
import { defineSourcePlugin, type RecordResult, type SourceRecord } from '../../types.ts';
import { parseIngestBody } from './ingest-body.ts';

export const INGEST_FIELDS = {
  topics: z.array(z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, { error: 'invalid topic name' })).min(1).optional(),
  topicsRegex: z.string().optional(),
  /** token → principal name (`{ "s3cr3t": "User:mobile-app" }`). */
  tokens: z.record(z.string().min(8, { error: 'a token needs at least 8 characters' }), str('a principal like "User:mobile-app"')).default({}),
  /** Accept requests without a token (as User:ANONYMOUS). */
  allowAnonymous: bool().default(false),
  maxBodyBytes: num({ int: true, min: 1, max: 64 * 1024 * 1024 }).default(1024 * 1024),
  maxRecordsPerRequest: num({ int: true, min: 1, max: 100_000 }).default(500),
  maxInFlightRecords: num({ int: true, min: 1 }).default(20_000),
  /** Seconds a client is told to wait after a 429. */
  retryAfterSeconds: num({ int: true, min: 1 }).default(1),
};

type IngestConfig = {
  topics?: string[];
  topicsRegex?: string;
  tokens: Record<string, string>;
  allowAnonymous: boolean;
  maxBodyBytes: number;
  maxRecordsPerRequest: number;
  maxInFlightRecords: number;
  retryAfterSeconds: number;
};

class IngestQueue {
  items: SourceRecord[] = [];
  private wake: (() => void) | null = null;

  push(records: SourceRecord[]): void {
    this.items.push(...records);
    this.wake?.();
  }

  async take(signal: AbortSignal, max: number): Promise<SourceRecord[]> {
    if (this.items.length === 0 && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, 500);
        function done() {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolve();
        }
        this.wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
      this.wake = null;
    }
    return this.items.splice(0, max);
  }
}

interface Endpoint {
  connector: string;
  config: IngestConfig;
  topicRe: RegExp | null;
  queues: IngestQueue[];
  inFlight: number;
  next: number;
}

/** Which ingest connector takes which topic; the HTTP route asks it. One per runtime. */
export class IngestRouter {
  private readonly endpoints = new Map<string, Endpoint>();

  register(connector: string, config: IngestConfig, queue: IngestQueue): void {
    let ep = this.endpoints.get(connector);
    if (!ep || ep.config !== config) {
      const old = ep;
      ep = { connector, config, topicRe: config.topicsRegex ? new RegExp(`^(?:${config.topicsRegex})$`) : null, queues: old?.queues ?? [], inFlight: old?.inFlight ?? 0, next: 0 };
      this.endpoints.set(connector, ep);
    }
    ep.queues.push(queue);
  }

  unregister(connector: string, queue: IngestQueue): void {
    const ep = this.endpoints.get(connector);
    if (!ep) return;
    ep.queues = ep.queues.filter((q) => q !== queue);
    // Records still queued were not written: tell their clients to retry.
    for (const r of queue.items.splice(0)) r.onResult?.({ ok: false, error: new ConnectError('INGEST_UNAVAILABLE', 'the ingest connector stopped before this record was written: retry', { retryAfterSeconds: 1 }) });
    if (ep.queues.length === 0) this.endpoints.delete(connector);
  }

  find(topic: string): Endpoint | null {
    for (const ep of this.endpoints.values()) {
      if (ep.config.topics?.includes(topic) || ep.topicRe?.test(topic)) return ep;
    }
    return null;
  }

  topics(): string[] {
    return [...this.endpoints.values()].flatMap((e) => e.config.topics ?? (e.config.topicsRegex ? [`/${e.config.topicsRegex}/`] : []));
  }
}

export function httpIngestPlugin(router: IngestRouter) {
  return defineSourcePlugin({
    name: 'http-ingest',
    description: 'POST /ingest/<topic>: one record or a batch over HTTP, per-record results, token auth, back-pressure (429)',
    fields: INGEST_FIELDS,
    validate(config) {
      const problems = [];
      if ((config.topics === undefined) === (config.topicsRegex === undefined)) problems.push({ path: 'topics', message: 'set either "topics" (the topics this endpoint accepts) or "topicsRegex"' });
      if (config.topicsRegex !== undefined) {
        try {
          new RegExp(config.topicsRegex);
        } catch (err) {
          problems.push({ path: 'topicsRegex', message: `invalid regular expression: ${errorMessage(err)}` });
        }
      }
      if (!config.allowAnonymous && Object.keys(config.tokens).length === 0) {
        problems.push({ path: 'tokens', message: 'no tokens: set tokens ({ "<token>": "User:<name>" }) or allowAnonymous: true' });
      }
      return problems;
    },
    taskConfigs: (config, maxTasks) => Array.from({ length: Math.max(1, maxTasks) }, (_, i) => ({ queue: i })),
    createTask(config, _task, ctx) {
      const queue = new IngestQueue();
      const cfg = config as unknown as IngestConfig;
      return {
        async start() {
          router.register(ctx.connector, cfg, queue);
        },
        poll: (signal) => queue.take(signal, 5000),
        async stop() {
          router.unregister(ctx.connector, queue);
        },
      };
    },
  });
}

function bearer(c: Context): string | null {
  const h = c.req.header('authorization');
  if (!h) return null;
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  return m ? m[1]!.trim() : null;
}

function findPrincipal(tokens: Record<string, string>, token: string): string | null {
  const t = Buffer.from(token);
  for (const [k, v] of Object.entries(tokens)) {
    const b = Buffer.from(k);
    if (b.length === t.length && timingSafeEqual(b, t)) return v;
  }
  return null;
}

async function readLimited(c: Context, max: number): Promise<string> {
  const declared = Number(c.req.header('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) throw new ConnectError('INGEST_TOO_LARGE', `the body is ${declared} bytes; this endpoint accepts at most ${max}: send fewer records per request`);
  // A declared length bounds the body (HTTP framing): the server's fast text path is safe.
  // Without one (chunked), count while reading.
  if (Number.isFinite(declared)) return c.req.text();
  const body = c.req.raw.body;
  if (!body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw new ConnectError('INGEST_TOO_LARGE', `the body exceeds ${max} bytes: send fewer records per request`);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function errorAnswer(c: Context, err: unknown) {
  const e = err instanceof ConnectError ? err : err instanceof AccessDeniedError ? err : new ConnectError('SOURCE_FAILED', errorMessage(err));
  const headers: Record<string, string> = {};
  const retryAfter = (e as ConnectError).retryAfterSeconds;
  if (retryAfter !== undefined) headers['Retry-After'] = String(retryAfter);
  if (e.code === 'INGEST_UNAUTHORIZED') headers['WWW-Authenticate'] = 'Bearer';
  return c.json({ error: { code: e.code, message: e.message, retriable: e.retriable } }, e.httpStatus as 400, headers);
}

function resultJson(r: RecordResult) {
  if (r.ok) return r.offset < 0 ? { partition: -1, offset: -1, filtered: true } : { partition: r.partition, offset: r.offset };
  return { errorCode: (r.error as { code?: string }).code ?? 'INTERNAL', errorMessage: r.error.message };
}

/** The handler of `POST /ingest/:topic`. */
export function ingestHandler(deps: { router: IngestRouter; governance: Governance; stateOf: (connector: string) => string | null }) {
  return async (c: Context) => {
    try {
      const topic = c.req.param('topic') ?? '';
      const ep = deps.router.find(topic);
      if (!ep) {
        const known = deps.router.topics();
        throw new ConnectError('INGEST_NO_CONNECTOR', `no http-ingest connector accepts topic ${JSON.stringify(topic)}${known.length ? ` (accepted: ${known.join(', ')})` : ': create one with POST /api/connectors'}`);
      }
      const state = deps.stateOf(ep.connector);
      if (state !== 'RUNNING') {
        throw new ConnectError('INGEST_UNAVAILABLE', `ingest connector ${ep.connector} is ${String(state).toLowerCase()}: retry later`, { retryAfterSeconds: 5 });
      }
      const token = bearer(c);
      let principal: string;
      if (token === null) {
        if (!ep.config.allowAnonymous) throw new ConnectError('INGEST_UNAUTHORIZED', 'missing token: send Authorization: Bearer <token>');
        principal = 'User:ANONYMOUS';
      } else {
        const found = findPrincipal(ep.config.tokens, token);
        if (!found) throw new ConnectError('INGEST_UNAUTHORIZED', 'unknown token: check Authorization: Bearer <token>');
        principal = found;
      }
      if (!deps.governance.check({ name: principal }, 'write', { type: 'topic', name: topic }, 'connect')) {
        throw new ConnectError('INGEST_FORBIDDEN', `${principal} may not write topic ${topic}: ask an administrator for a grant`);
      }
      const text = await readLimited(c, ep.config.maxBodyBytes);
      const parsed = parseIngestBody(text, c.req.header('content-type'), { maxRecords: ep.config.maxRecordsPerRequest });
      const accepted = parsed.items.filter((i) => i.ok).length;
      if (ep.inFlight + accepted > ep.config.maxInFlightRecords) {
        throw new ConnectError('INGEST_BUSY', `the log is not keeping up (${ep.inFlight} records waiting): retry after ${ep.config.retryAfterSeconds} s`, { retryAfterSeconds: ep.config.retryAfterSeconds });
      }
      if (ep.queues.length === 0) throw new ConnectError('INGEST_UNAVAILABLE', `ingest connector ${ep.connector} has no running task: retry later`, { retryAfterSeconds: 5 });
      // One promise per request, not per record: each record's callback fills its slot.
      const settled: RecordResult[] = new Array(parsed.items.length);
      const batch: SourceRecord[] = [];
      let waiting = 0;
      let allDone: () => void = () => {};
      const done = new Promise<void>((resolve) => (allDone = resolve));
      const report = function (this: { ep: Endpoint; i: number }, res: RecordResult) {
        this.ep.inFlight--;
        settled[this.i] = res;
        if (--waiting === 0) allDone();
      };
      for (let i = 0; i < parsed.items.length; i++) {
        const item = parsed.items[i]!;
        if (!item.ok) {
          settled[i] = { ok: false, error: item.error };
          continue;
        }
        ep.inFlight++;
        waiting++;
        const r = item.record;
        const rec: SourceRecord = { topic, key: r.key, value: r.value, headers: r.headers, onResult: report.bind({ ep, i }) };
        if (r.partition !== undefined) rec.partition = r.partition;
        if (r.timestamp !== undefined) rec.timestamp = r.timestamp;
        batch.push(rec);
      }
      if (batch.length) {
        ep.queues[ep.next++ % ep.queues.length]!.push(batch);
        await done;
      }
      if (!parsed.batch) {
        const r = settled[0]!;
        if (!r.ok) return errorAnswer(c, r.error);
        return c.json({ topic, ...resultJson(r) });
      }
      return c.json({ topic, failedRecordCount: settled.filter((r) => !r.ok).length, records: settled.map(resultJson) });
    } catch (err) {
      return errorAnswer(c, err);
    }
  };
}
