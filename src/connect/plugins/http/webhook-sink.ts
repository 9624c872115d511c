/**
 * HTTP/webhook sink: POSTs records in batches to a URL.
 *
 * A batch that fails with a network error, a timeout (a hanging server), 408, 429 or 5xx is sent
 * again with exponential backoff (honouring Retry-After) until `errors.retryTimeoutMs`. A 4xx
 * answer will not get better by retrying: the batch is split and its records sent one by one, so
 * only the records the server rejects are reported (dead-lettered with `errors.tolerance: all`,
 * failing the task with `none`) — as are records still failing when the retries run out.
 *
 * Body formats: `records` (default) `[{ topic, partition, offset, timestamp, key, value, headers }]`,
 * `values` `[value, …]`, `ndjson` (one value per line).
 */
import { z } from 'zod';
import { num, obj, str } from '../../../util/schema.ts';
import { ConnectError, RetriableError, errorMessage } from '../../errors.ts';
import { backoffDelay, sleep } from '../../runtime/retry.ts';
import { defineSinkPlugin, type SinkRecord } from '../../types.ts';

export const WEBHOOK_FIELDS = {
  url: z.string().url({ error: 'expected an http:// or https:// URL' }).refine((u) => /^https?:\/\//.test(u), { error: 'expected an http:// or https:// URL' }),
  method: z.enum(['POST', 'PUT']).default('POST'),
  headers: z.record(z.string(), z.string()).default({}),
  /** Most records per request. */
  maxBatchRecords: num({ int: true, min: 1, max: 10_000 }).default(100),
  /** A request without an answer after this long is retried (a hanging server). */
  timeoutMs: num({ int: true, min: 1 }).default(10_000),
  format: z.enum(['records', 'values', 'ndjson']).default('records'),
  retry: obj({ initialDelayMs: num({ int: true, min: 1 }).default(200) }).default({ initialDelayMs: 200 }),
  /** Authorization header value (e.g. "Bearer …"); kept out of `headers` so it can come from the environment. */
  authorization: str().optional(),
};

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
  }
}

function headerValue(v: string | Buffer | null): string | null {
  if (v === null) return null;
  return Buffer.isBuffer(v) ? v.toString('utf8') : v;
}

export const webhookSinkPlugin = defineSinkPlugin({
  name: 'http-sink',
  description: 'POST records in batches to a webhook URL, with retries, backoff and dead-lettering of rejected records',
  fields: WEBHOOK_FIELDS,
  createTask(config, _task, ctx) {
    const body = (records: SinkRecord[]): { text: string; type: string } => {
      if (config.format === 'ndjson') return { text: records.map((r) => JSON.stringify(r.value)).join('\n') + '\n', type: 'application/x-ndjson' };
      if (config.format === 'values') return { text: JSON.stringify(records.map((r) => r.value)), type: 'application/json' };
      return {
        text: JSON.stringify(
          records.map((r) => ({
            topic: r.topic,
            partition: r.partition,
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key,
            value: r.value,
            headers: Object.fromEntries(r.headers.map((h) => [h.key, headerValue(h.value)])),
          })),
        ),
        type: 'application/json',
      };
    };

    const sendOnce = async (records: SinkRecord[]): Promise<void> => {
      const { text, type } = body(records);
      let res: Response;
      try {
        res = await fetch(config.url, {
          method: config.method,
          headers: { 'content-type': type, ...config.headers, ...(config.authorization ? { authorization: config.authorization } : {}) },
          body: text,
          signal: AbortSignal.any([AbortSignal.timeout(config.timeoutMs), ctx.signal]),
        });
      } catch (err) {
        const why = (err as Error).name === 'TimeoutError' ? `no answer within ${config.timeoutMs} ms` : errorMessage((err as { cause?: unknown }).cause ?? err);
        throw new HttpStatusError(0, `${config.method} ${config.url}: ${why}`, null);
      }
      const answer = await res.text().catch(() => '');
      if (res.ok) return;
      const ra = res.headers.get('retry-after');
      const retryAfterMs = ra && /^\d+$/.test(ra) ? Number(ra) * 1000 : null;
      throw new HttpStatusError(res.status, `${config.method} ${config.url} answered ${res.status}${answer ? `: ${answer.slice(0, 200)}` : ''}`, retryAfterMs);
    };

    const retriable = (s: number) => s === 0 || s === 408 || s === 429 || s >= 500;

    /** Sends with retries; returns the last error when it gives up (or a non-retriable one at once). */
    const sendWithRetries = async (records: SinkRecord[]): Promise<HttpStatusError | null> => {
      const started = Date.now();
      const { retryTimeoutMs, retryMaxDelayMs } = config.errors;
      for (let attempt = 0; ; attempt++) {
        try {
          await sendOnce(records);
          return null;
        } catch (err) {
          const e = err as HttpStatusError;
          if (ctx.signal.aborted) throw new RetriableError(`stopped while sending: ${e.message}`, { code: 'WEBHOOK_FAILED' });
          if (!retriable(e.status)) return e;
          const delay = e.retryAfterMs ?? backoffDelay(attempt, { initialMs: config.retry.initialDelayMs, maxMs: retryMaxDelayMs });
          if (retryTimeoutMs >= 0 && Date.now() - started + delay > retryTimeoutMs) return e;
          ctx.logger.warn({ err: e.message, attempt, retryInMs: delay }, 'webhook failed; retrying');
          await sleep(delay, ctx.signal);
        }
      }
    };

    return {
      async put(records) {
        for (let i = 0; i < records.length; i += config.maxBatchRecords) {
          const chunk = records.slice(i, i + config.maxBatchRecords);
          const err = await sendWithRetries(chunk);
          if (!err) continue;
          if (retriable(err.status) || chunk.length === 1) {
            const failure = new ConnectError('WEBHOOK_FAILED', err.message);
            for (const r of chunk) await ctx.report(r, failure);
            continue;
          }
          // Rejected (4xx): find the records the server refuses, one by one.
          for (const r of chunk) {
            const one = await sendWithRetries([r]);
            if (one) await ctx.report(r, new ConnectError('WEBHOOK_FAILED', one.message));
          }
        }
      },
      async stop() {},
    };
  },
});
