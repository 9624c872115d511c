/** The HTTP/webhook sink against a real local HTTP server that fails, hangs and rejects on cue. */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { readDeadLetterHeaders } from '../../src/connect/runtime/dead-letter.ts';
import { harness, readTopic, topicCount, waitFor } from './helpers.ts';

interface Hook {
  url: string;
  bodies: unknown[][];
  calls: number;
  close(): Promise<void>;
}

async function webhook(handle: (body: unknown[], call: number, req: IncomingMessage, res: ServerResponse) => boolean | void): Promise<Hook> {
  const hook = { bodies: [] as unknown[][], calls: 0 } as Hook;
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      const body = JSON.parse(text) as unknown[];
      const call = ++hook.calls;
      if (handle(body, call, req, res) === true) return; // handled (or left hanging)
      hook.bodies.push(body);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  hook.close = () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); });
  return hook;
}

describe('webhook sink', () => {
  it('batches records, retries 5xx and hanging requests with backoff, and delivers everything', async () => {
    const hangs: ServerResponse[] = [];
    const hook = await webhook((_body, call, req, res) => {
      if (call === 1) {
        res.writeHead(503, { 'retry-after': '0' }).end('busy');
        return true;
      }
      if (call === 2) {
        hangs.push(res);
        return true;
      } // never answers
      if (call === 3) {
        res.writeHead(500).end('boom');
        return true;
      }
      assert.equal(req.headers['authorization'], 'Bearer s3cret');
      return false;
    });
    const h = await harness();
    try {
      await h.bus.admin().createTopic('events', { partitions: 1 });
      const p = h.bus.producer();
      await p.send('events', Array.from({ length: 25 }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(JSON.stringify({ i })) })));
      await h.runtime.create('hook', {
        connector: 'http-sink', topics: ['events'], url: hook.url, maxBatchRecords: 10, timeoutMs: 1500, authorization: 'Bearer s3cret',
        retry: { initialDelayMs: 10 }, errors: { retryMaxDelayMs: 50 },
      });
      await waitFor('25 delivered', () => hook.bodies.flat().length === 25);
      const got = hook.bodies.flat() as Array<{ topic: string; offset: number; key: string; value: { i: number } }>;
      assert.deepEqual(got.map((r) => r.value.i), Array.from({ length: 25 }, (_, i) => i));
      assert.deepEqual([got[3]!.topic, got[3]!.offset, got[3]!.key], ['events', 3, 'k3']);
      assert.ok(hook.bodies.every((b) => b.length <= 10));
      assert.ok(hook.calls >= 3 + hook.bodies.length, 'the failed attempts were retried');
      await waitFor('committed', async () => (await h.runtime.getOffsets('hook')).offsets[0]?.offset['offset'] === 25);
      await p.close();
    } finally {
      await h.close();
      await hook.close();
    }
  });

  it('a 4xx is not retried: the batch is split and only the rejected record is dead-lettered', async () => {
    const hook = await webhook((body, _call, _req, res) => {
      if ((body as Array<{ value: { bad?: boolean } }>).some((r) => r.value.bad)) {
        res.writeHead(422).end('bad record');
        return true;
      }
      return false;
    });
    const h = await harness();
    try {
      const p = h.bus.producer();
      await p.send('orders', [{ i: 1 }, { i: 2, bad: true }, { i: 3 }].map((v) => ({ value: Buffer.from(JSON.stringify(v)) })));
      await h.runtime.create('hook', { connector: 'http-sink', topics: ['orders'], url: hook.url, errors: { tolerance: 'all', deadLetterTopic: 'orders.dlq' } });
      await waitFor('dead letter', async () => (await topicCount(h.bus, 'orders.dlq')) === 1);
      await waitFor('two delivered', () => hook.bodies.flat().length === 2);
      assert.deepEqual((hook.bodies.flat() as Array<{ value: { i: number } }>).map((r) => r.value.i), [1, 3]);
      const [d] = await readTopic(h.bus, 'orders.dlq');
      const hd = readDeadLetterHeaders(d!.headers);
      assert.equal(hd['offset'], '1');
      assert.match(hd['exception.message']!, /answered 422: bad record/);
      await p.close();
    } finally {
      await h.close();
      await hook.close();
    }
  });

  it('with errors.tolerance none a rejected record fails the task and is not committed', async () => {
    const hook = await webhook((_b, _c, _r, res) => {
      res.writeHead(400).end('no');
      return true;
    });
    const h = await harness();
    try {
      const p = h.bus.producer();
      await p.send('x', [{ value: Buffer.from('{"a":1}') }]);
      await h.runtime.create('hook', { connector: 'http-sink', topics: ['x'], url: hook.url });
      const t = await waitFor('failed', () => h.runtime.status('hook').tasks.find((x) => x.state === 'FAILED'));
      assert.match(t.trace!, /WEBHOOK_FAILED: POST http:\/\/127\.0\.0\.1:\d+\/hook answered 400: no/);
      assert.deepEqual((await h.runtime.getOffsets('hook')).offsets, []);
      await p.close();
    } finally {
      await h.close();
      await hook.close();
    }
  });
});
