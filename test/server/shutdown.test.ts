import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openEmbeddedBus } from '../../src/bus/index.ts';
import { createHttpApp, startHttpServer } from '../../src/server/index.ts';
import { tempDirUntilExit as tempDir } from '../helpers/temp-dir.ts';

describe('HTTP server shutdown', () => {
  it('ends long polls in progress, refuses new API calls, and closes', async () => {
    const bus = await openEmbeddedBus({ dataDir: path.join(await tempDir(), 'data'), autoCreateTopics: true });
    const http = createHttpApp({ bus });
    const server = await startHttpServer(http, { port: 0 });
    try {
      await bus.admin().createTopic('quiet', { partitions: 1 });
      const created = await fetch(`${server.url}/api/consumers`, { method: 'POST', body: JSON.stringify({ group: 'g', topics: ['quiet'] }) });
      const { id } = (await created.json()) as { id: string };
      const poll = fetch(`${server.url}/api/consumers/${id}/records?timeoutMs=30000`).then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: { code: string } } }));
      // Close only once the poll is waiting on the server.
      while (!http.consumers.info(id).busy) await new Promise((r) => setTimeout(r, 5));
      await server.close();
      const answer = await poll;
      assert.equal(answer.status, 404);
      assert.equal(answer.body.error?.code, 'CONSUMER_UNKNOWN');
      assert.equal(http.consumers.size, 0);
      const after = await http.app.request('/api/topics');
      assert.equal(after.status, 503);
      assert.equal(((await after.json()) as { error: { code: string } }).error.code, 'SHUTTING_DOWN');
    } finally {
      await server.close();
      await bus.close();
    }
  });

  it('reports a taken port with what to do', async () => {
    const bus = await openEmbeddedBus({ dataDir: path.join(await tempDir(), 'data') });
    const a = await startHttpServer(createHttpApp({ bus }), { port: 0 });
    try {
      await assert.rejects(startHttpServer(createHttpApp({ bus }), { port: a.port }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'PORT_IN_USE');
        assert.match(err.message, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${a.port}: the port is in use; stop the other process or choose another port`));
        return true;
      });
    } finally {
      await a.close();
      await bus.close();
    }
  });
});
