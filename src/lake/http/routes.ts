/**
 * HTTP routes under `/api/lake` (docs/http-api.md): tables, snapshots, files, partitions,
 * sinks, and the maintenance actions `compact` (streams progress as JSON lines) and `expire`.
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { ANONYMOUS, type Governance } from '../../govern/index.ts';
import { readJson, queryParams } from '../../server/request.ts';
import { num, obj, str } from '../../util/schema.ts';
import { LakeError } from '../errors.ts';
import type { Lake } from '../lake.ts';
import { parseTableName } from '../names.ts';
import type { LakeSink } from '../sink/lake-sink.ts';
import { ZONES, type AsOf, type ExpireProgress, type PartitionValues, type Zone } from '../types.ts';

const compactBody = obj({
  table: str('a table name like raw.orders').optional(),
  targetFileBytes: num({ int: true, min: 1024 }).optional(),
  smallFileBytes: num({ int: true, min: 1 }).optional(),
  minInputFiles: num({ int: true, min: 2 }).optional(),
});

const expireBody = obj({
  olderThanMs: num({ int: true, min: 0 }).optional(),
  keepLast: num({ int: true, min: 1 }).optional(),
  fileGraceMs: num({ int: true, min: 0 }).optional(),
  retention: z.boolean({ error: 'expected true or false' }).optional(),
});

/** `?snapshot=12` or `?time=2024-05-01T07:00:00Z` (or epoch ms). */
function asOfFrom(q: Record<string, string>): AsOf | undefined {
  if (q['snapshot'] !== undefined && q['time'] !== undefined) {
    throw new LakeError('LAKE_SNAPSHOT_UNKNOWN', 'give either snapshot or time, not both');
  }
  if (q['snapshot'] !== undefined) {
    const n = Number(q['snapshot']);
    if (!/^\d+$/.test(q['snapshot']) || !Number.isSafeInteger(n)) throw new LakeError('LAKE_SNAPSHOT_UNKNOWN', `query parameter snapshot: expected a snapshot id, got ${JSON.stringify(q['snapshot'])}`);
    return { snapshot: n };
  }
  if (q['time'] !== undefined) {
    const raw = q['time'];
    const t = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
    if (!Number.isFinite(t)) throw new LakeError('LAKE_SNAPSHOT_UNKNOWN', `query parameter time: expected an ISO-8601 time or epoch milliseconds, got ${JSON.stringify(raw)}`);
    return { time: t };
  }
  return undefined;
}

function zoneFrom(q: Record<string, string>): Zone | undefined {
  const z = q['zone'];
  if (z === undefined) return undefined;
  if (!(ZONES as readonly string[]).includes(z)) throw new LakeError('LAKE_ZONE_UNKNOWN', `unknown zone ${JSON.stringify(z)}: use one of ${ZONES.join(', ')}`);
  return z as Zone;
}

function partitionFrom(raw: string | undefined): PartitionValues | undefined {
  if (raw === undefined) return undefined;
  const out: PartitionValues = {};
  for (const part of raw.split('/').filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new LakeError('LAKE_PARTITION_INVALID', `query parameter partition: expected dt=2024-05-01/hr=07, got ${JSON.stringify(raw)}`);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

export function lakeRoutes(opts: { lake: Lake; sinks: () => LakeSink[]; governance: Governance }): Hono {
  const { lake, governance } = opts;
  const app = new Hono();
  const allow = (c: Context, action: 'describe' | 'read' | 'alter' | 'delete', table: string) =>
    governance.authorize(ANONYMOUS, action, { type: 'table', name: table }, `http ${c.req.method} ${c.req.path}`);

  app.get('/tables', async (c) => {
    const q = queryParams(c, ['zone', 'snapshot', 'time']);
    const asOf = asOfFrom(q);
    const zone = zoneFrom(q);
    const snapshot = await lake.snapshot(asOf);
    const tables = await lake.tables({ ...(zone ? { zone } : {}), asOf: { snapshot: snapshot.id } });
    for (const t of tables) allow(c, 'describe', t.fullName);
    return c.json({ snapshot, tables });
  });

  app.get('/tables/:table', async (c) => {
    const q = queryParams(c, ['snapshot', 'time']);
    const name = parseTableName(c.req.param('table'));
    allow(c, 'describe', `${name.zone}.${name.name}`);
    const asOf = asOfFrom(q);
    return c.json(await lake.table(name, asOf ? { asOf } : {}));
  });

  app.get('/tables/:table/files', async (c) => {
    const q = queryParams(c, ['snapshot', 'time', 'partition']);
    const name = parseTableName(c.req.param('table'));
    allow(c, 'describe', `${name.zone}.${name.name}`);
    const asOf = asOfFrom(q);
    const partition = partitionFrom(q['partition']);
    const files = await lake.files(name, { ...(asOf ? { asOf } : {}), ...(partition ? { partition } : {}) });
    return c.json({ files });
  });

  app.get('/tables/:table/partitions', async (c) => {
    const q = queryParams(c, ['snapshot', 'time']);
    const name = parseTableName(c.req.param('table'));
    allow(c, 'describe', `${name.zone}.${name.name}`);
    const asOf = asOfFrom(q);
    return c.json({ partitions: await lake.partitions(name, asOf ? { asOf } : {}) });
  });

  app.get('/snapshots', async (c) => {
    const q = queryParams(c, ['table', 'limit', 'before']);
    const limit = q['limit'] !== undefined ? Number(q['limit']) : 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new LakeError('LAKE_SNAPSHOT_UNKNOWN', 'query parameter limit: expected a whole number from 1 to 10000');
    const before = q['before'] !== undefined ? Number(q['before']) : undefined;
    if (before !== undefined && !Number.isSafeInteger(before)) throw new LakeError('LAKE_SNAPSHOT_UNKNOWN', 'query parameter before: expected a snapshot id');
    const snapshots = await lake.snapshots({ limit, ...(q['table'] ? { table: q['table'] } : {}), ...(before !== undefined ? { beforeId: before } : {}) });
    return c.json({ snapshots });
  });

  app.get('/sinks', (c) => {
    queryParams(c, []);
    return c.json({ sinks: opts.sinks().map((s) => s.status()) });
  });

  // Streams one JSON object per line: {"progress": …} while merging, then {"result": …} or {"error": …}.
  app.post('/compact', async (c) => {
    queryParams(c, []);
    const body = await readJson(c, compactBody, { optional: true });
    if (body.table) {
      const ref = parseTableName(body.table);
      allow(c, 'alter', `${ref.zone}.${ref.name}`);
    } else allow(c, 'alter', '*');
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start: async (controller) => {
        const send = (v: unknown) => controller.enqueue(encoder.encode(JSON.stringify(v) + '\n'));
        try {
          const result = await lake.compact({
            ...(body.table ? { table: body.table } : {}),
            ...(body.targetFileBytes ? { targetFileBytes: body.targetFileBytes } : {}),
            ...(body.smallFileBytes ? { smallFileBytes: body.smallFileBytes } : {}),
            ...(body.minInputFiles ? { minInputFiles: body.minInputFiles } : {}),
            onProgress: (p) => send({ progress: p }),
          });
          send({ result });
        } catch (err) {
          const e = err as { code?: string; message?: string; retriable?: boolean };
          send({ error: { code: e.code ?? 'INTERNAL', message: e.message ?? String(err), retriable: e.retriable ?? false } });
        }
        controller.close();
      },
    });
    return new Response(stream, { status: 200, headers: { 'content-type': 'application/x-ndjson' } });
  });

  app.post('/expire', async (c) => {
    queryParams(c, []);
    const body = await readJson(c, expireBody, { optional: true });
    allow(c, 'delete', '*');
    const run = async (onProgress?: (p: ExpireProgress) => void) => {
      const retention = body.retention === false ? null : await lake.applyRetention();
      const expired = await lake.expire({
        ...(body.olderThanMs !== undefined ? { olderThanMs: body.olderThanMs } : {}),
        ...(body.keepLast !== undefined ? { keepLast: body.keepLast } : {}),
        ...(body.fileGraceMs !== undefined ? { fileGraceMs: body.fileGraceMs } : {}),
        ...(onProgress ? { onProgress } : {}),
      });
      return { ...expired, retention: retention ? { removedFiles: retention.removedFiles, removedRows: retention.removedRows, snapshots: retention.snapshots.length } : null };
    };
    // With `Accept: application/x-ndjson` (the CLI's progress bar), one JSON object per line as
    // for compact: {"progress": …} while deleting files (at most every 100 ms, and the last one),
    // then {"result": …} or {"error": …}. Otherwise one JSON answer.
    if (!(c.req.header('accept') ?? '').includes('application/x-ndjson')) return c.json(await run());
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start: async (controller) => {
        const send = (v: unknown) => controller.enqueue(encoder.encode(JSON.stringify(v) + '\n'));
        let lastSent = 0;
        try {
          const result = await run((p) => {
            const now = Date.now();
            if (p.done !== 0 && p.done !== p.total && now - lastSent < 100) return;
            lastSent = now;
            send({ progress: p });
          });
          send({ result });
        } catch (err) {
          const e = err as { code?: string; message?: string; retriable?: boolean };
          send({ error: { code: e.code ?? 'INTERNAL', message: e.message ?? String(err), retriable: e.retriable ?? false } });
        }
        controller.close();
      },
    });
    return new Response(stream, { status: 200, headers: { 'content-type': 'application/x-ndjson' } });
  });

  return app;
}
