import { Hono } from 'hono';
import type { Bus, BusProducer, TopicPartition } from '../../bus/types.ts';
import { topicConfigSchema, topicNameSchema } from '../../config/schema.ts';
import type { TopicDescription } from '../../log/types.ts';
import { num, obj } from '../../util/schema.ts';
import { HttpError } from '../errors.ts';
import { produceBodySchema, recordsFromBody, recordToJson, type JsonRecord } from '../records.ts';
import { boolParam, intParam, queryParams, readJson } from '../request.ts';

const createTopicSchema = obj({
  name: topicNameSchema,
  partitions: num({ int: true, min: 1 }).optional(),
  config: topicConfigSchema.optional(),
});

/**
 * A topic with totals over its partitions, as the API shows it. `records` counts the offsets
 * between the log start and the high watermark: exact for `delete` topics, an upper bound
 * after compaction.
 */
export function topicView(d: TopicDescription) {
  let sizeBytes = 0;
  let records = 0;
  for (const p of d.partitions) {
    sizeBytes += p.sizeBytes;
    records += Math.max(0, p.highWatermark - p.logStartOffset);
  }
  return { ...d, partitionCount: d.partitions.length, sizeBytes, records };
}

function topicSummary(d: TopicDescription) {
  const v = topicView(d);
  return { name: v.name, internal: v.internal, partitions: v.partitionCount, sizeBytes: v.sizeBytes, records: v.records, config: v.config };
}

export interface TopicRoutesDeps {
  bus: Bus;
  producer: () => BusProducer;
}

export function topicRoutes({ bus, producer }: TopicRoutesDeps): Hono {
  const app = new Hono();
  const admin = () => bus.admin();

  app.get('/', async (c) => {
    const q = queryParams(c, ['internal']);
    const topics = await admin().listTopics({ includeInternal: boolParam(q, 'internal') });
    return c.json({ topics: topics.map(topicSummary) });
  });

  app.post('/', async (c) => {
    queryParams(c, []);
    const body = await readJson(c, createTopicSchema);
    const config = { ...body.config, ...(body.partitions !== undefined ? { partitions: body.partitions } : {}) };
    const d = await admin().createTopic(body.name, config);
    return c.json(topicView(d), 201);
  });

  app.get('/:name', async (c) => {
    queryParams(c, []);
    return c.json(topicView(await admin().describeTopic(c.req.param('name'))));
  });

  app.delete('/:name', async (c) => {
    queryParams(c, []);
    const name = c.req.param('name');
    await admin().deleteTopic(name);
    return c.json({ deleted: name });
  });

  app.post('/:name/records', async (c) => {
    queryParams(c, []);
    const topic = c.req.param('name');
    const body = await readJson(c, produceBodySchema);
    let records;
    try {
      records = recordsFromBody(body);
    } catch (err) {
      throw new HttpError('BAD_REQUEST', `invalid request body: ${(err as Error).message}`);
    }
    const acks = await producer().send(topic, records);
    return c.json({
      topic,
      offsets: acks.map((a) => ({ partition: a.partition, offset: a.offset, timestamp: a.timestamp })),
    });
  });

  app.get('/:name/records', async (c) => {
    const q = queryParams(c, ['partition', 'offset', 'limit', 'timeoutMs', 'base64']);
    const topic = c.req.param('name');
    const limit = intParam(q, 'limit', { min: 1, max: 10_000, default: 100 });
    const timeoutMs = intParam(q, 'timeoutMs', { min: 0, max: 30_000, default: 0 });
    const base64 = boolParam(q, 'base64');
    const partition = intParam(q, 'partition', { min: 0 });
    const offsetRaw = q['offset'];
    const d = await admin().describeTopic(topic);

    type Start = TopicPartition & { offset: number; end: number };
    const starts: Start[] = [];
    const chosen = partition === undefined ? d.partitions : d.partitions.filter((p) => p.partition === partition);
    if (partition !== undefined && chosen.length === 0) {
      throw new HttpError('PARTITION_UNKNOWN', `topic ${topic} has no partition ${partition} (it has ${d.partitions.length}: 0–${d.partitions.length - 1})`);
    }
    for (const p of chosen) {
      let offset: number;
      if (offsetRaw === undefined || offsetRaw === '' || offsetRaw === 'earliest') offset = p.logStartOffset;
      else if (offsetRaw === 'latest') offset = p.highWatermark;
      else {
        if (partition === undefined) {
          throw new HttpError('BAD_REQUEST', 'query parameter offset: a numeric offset needs a partition (add partition=N), or use earliest/latest');
        }
        const n = intParam(q, 'offset', { min: 0 })!;
        if (n > p.highWatermark) {
          throw new HttpError('OFFSET_OUT_OF_RANGE', `offset ${n} is beyond the end of ${topic}/${p.partition} (high watermark ${p.highWatermark})`);
        }
        offset = Math.max(n, p.logStartOffset); // older records were deleted by retention: start at the oldest kept
      }
      starts.push({ topic, partition: p.partition, offset, end: p.highWatermark });
    }

    const next = new Map(starts.map((s) => [s.partition, s.offset]));
    const records: JsonRecord[] = [];
    const pending = starts.filter((s) => s.offset < s.end);
    if (pending.length > 0 || timeoutMs > 0) {
      const consumer = bus.consumer({ fromBeginning: true, maxPollRecords: limit });
      try {
        consumer.assign(starts.map(({ topic: t, partition: p, offset }) => ({ topic: t, partition: p, offset })));
        // Read until the limit, or until every partition reached the end it had when the request came;
        // with nothing to read, wait once up to timeoutMs for new records.
        let first = true;
        while (records.length < limit) {
          const unread = starts.some((s) => next.get(s.partition)! < s.end);
          if (!unread && !first) break;
          const wait = unread ? Math.max(timeoutMs, 1000) : timeoutMs;
          const batch = await consumer.poll({ timeoutMs: wait, maxRecords: limit - records.length });
          first = false;
          if (batch.length === 0) break;
          for (const r of batch) {
            records.push(recordToJson(r, base64));
            next.set(r.partition, Math.max(next.get(r.partition)!, r.offset + 1));
          }
          if (!unread) break;
        }
      } finally {
        await consumer.close();
      }
    }
    return c.json({
      topic,
      records,
      nextOffsets: [...next].map(([p, offset]) => ({ partition: p, offset })),
    });
  });

  return app;
}
