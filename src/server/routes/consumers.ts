import { Hono } from 'hono';
import { z } from 'zod';
import { topicNameSchema } from '../../config/schema.ts';
import { bool, num, obj, str } from '../../util/schema.ts';
import type { ConsumerInstances } from '../consumer-instances.ts';
import { HttpError } from '../errors.ts';
import { recordToJson } from '../records.ts';
import { boolParam, intParam, queryParams, readJson } from '../request.ts';

const partitionSchema = obj({
  topic: topicNameSchema,
  partition: num({ int: true, min: 0 }),
  offset: num({ int: true, min: 0 }).optional(),
});

const createSchema = obj({
  group: str('a group id (a non-empty string)').optional(),
  topics: z.array(topicNameSchema, { error: 'expected an array of topic names' }).optional(),
  partitions: z.array(partitionSchema, { error: 'expected an array of { topic, partition, offset? }' }).optional(),
  fromBeginning: bool().optional(),
  clientId: str('a client id').optional(),
}).superRefine((v, ctx) => {
  const hasTopics = (v.topics?.length ?? 0) > 0;
  const hasPartitions = (v.partitions?.length ?? 0) > 0;
  if (hasTopics === hasPartitions) {
    ctx.addIssue({ code: 'custom', path: ['topics'], message: 'give either "topics" (a non-empty list) or "partitions", not both' });
  }
});

const commitSchema = obj({
  offsets: z
    .array(
      obj({
        topic: topicNameSchema,
        partition: num({ int: true, min: 0 }),
        offset: num({ int: true, min: 0 }),
      }),
      { error: 'expected an array of { topic, partition, offset }' },
    )
    .optional(),
});

export function consumerRoutes(instances: ConsumerInstances): Hono {
  const app = new Hono();

  app.get('/', (c) => {
    queryParams(c, []);
    return c.json({ consumers: instances.list() });
  });

  app.post('/', async (c) => {
    queryParams(c, []);
    const body = await readJson(c, createSchema);
    const info = await instances.create({
      ...(body.group !== undefined ? { group: body.group } : {}),
      ...(body.topics ? { topics: body.topics } : {}),
      ...(body.partitions ? { partitions: body.partitions } : {}),
      ...(body.fromBeginning !== undefined ? { fromBeginning: body.fromBeginning } : {}),
      ...(body.clientId !== undefined ? { clientId: body.clientId } : {}),
    });
    return c.json({ ...info, idleTimeoutMs: instances.idleTimeoutMs }, 201);
  });

  app.get('/:id', (c) => {
    queryParams(c, []);
    return c.json(instances.info(c.req.param('id')));
  });

  app.get('/:id/records', async (c) => {
    const q = queryParams(c, ['timeoutMs', 'maxRecords', 'base64']);
    const timeoutMs = intParam(q, 'timeoutMs', { min: 0, max: 30_000, default: 1000 });
    const maxRecords = intParam(q, 'maxRecords', { min: 1, max: 10_000, default: 500 });
    const base64 = boolParam(q, 'base64');
    if (timeoutMs >= instances.idleTimeoutMs) {
      throw new HttpError('BAD_REQUEST', `query parameter timeoutMs: must be below the idle timeout of ${instances.idleTimeoutMs} ms`);
    }
    const records = await instances.poll(c.req.param('id'), { timeoutMs, maxRecords });
    return c.json({ records: records.map((r) => recordToJson(r, base64)) });
  });

  app.post('/:id/commit', async (c) => {
    queryParams(c, []);
    const body = await readJson(c, commitSchema, { optional: true });
    const committed = await instances.commit(c.req.param('id'), body.offsets);
    return c.json({ committed });
  });

  app.delete('/:id', async (c) => {
    queryParams(c, []);
    await instances.delete(c.req.param('id'));
    return c.body(null, 204);
  });

  return app;
}
