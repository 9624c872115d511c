import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { openEmbeddedBus } from '../../src/bus/index.ts';
import type { Bus } from '../../src/bus/types.ts';
import { createHttpApp } from '../../src/server/app.ts';
import { createWebUi } from '../../src/server/web-ui.ts';
import { tempDirUntilExit as tempDir } from '../helpers/temp-dir.ts';

let bus: Bus;
let dist: string;

before(async () => {
  const dir = await tempDir();
  bus = await openEmbeddedBus({ dataDir: path.join(dir, 'data') });
  dist = path.join(dir, 'dist');
  mkdirSync(path.join(dist, 'assets'), { recursive: true });
  writeFileSync(path.join(dist, 'index.html'), '<!doctype html><div id="root"></div>');
  writeFileSync(path.join(dist, 'assets', 'index-abc.js'), 'console.log(1)');
  writeFileSync(path.join(dir, 'secret.txt'), 'not for the web');
});
after(async () => {
  await bus.close();
});

describe('serving the web UI next to the API', () => {
  it('serves files, pages of the UI, and leaves /api, /health and /metrics to the API', async () => {
    const { app } = createHttpApp({ bus, web: createWebUi({ distDir: dist, buildIfMissing: false }).handler });
    const index = await app.request('/');
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type')!, /text\/html/);
    assert.match(await index.text(), /id="root"/);

    const page = await app.request('/topics/shop.orders'); // a topic name with a dot is a page, not a file
    assert.equal(page.status, 200);
    assert.match(await page.text(), /id="root"/);

    const js = await app.request('/assets/index-abc.js');
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type')!, /text\/javascript/);
    assert.match(js.headers.get('cache-control')!, /immutable/);
    assert.equal(js.headers.get('content-encoding'), null, 'not gzipped unless asked');
    assert.equal(await js.text(), 'console.log(1)');

    // Browsers that accept gzip get it (what the bundle-size benchmark measures is what they load).
    const gz = await app.request('/assets/index-abc.js', { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    assert.equal(gz.status, 200);
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    assert.equal(gz.headers.get('vary'), 'Accept-Encoding');
    assert.equal(gunzipSync(Buffer.from(await gz.arrayBuffer())).toString(), 'console.log(1)');

    const missing = await app.request('/assets/gone.js');
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: { message: string } }).error.message, /no such file in the web UI: \/assets\/gone\.js/);

    const api = await app.request('/api/nothing-here');
    assert.equal(api.status, 404);
    assert.match(((await api.json()) as { error: { message: string } }).error.message, /no such endpoint/);

    const health = await app.request('/health');
    assert.equal(((await health.json()) as { status: string }).status, 'ok');

    const escape = await app.request('/../secret.txt');
    assert.doesNotMatch(await escape.text(), /not for the web/);
    const escape2 = await app.request('/%2e%2e/secret.txt');
    assert.doesNotMatch(await escape2.text(), /not for the web/);
  });

  it('says in words how to build the UI when it is not built', async () => {
    const ui = createWebUi({ distDir: path.join(dist, 'nothing'), buildIfMissing: false });
    const { app } = createHttpApp({ bus, web: ui.handler });
    const res = await app.request('/');
    assert.equal(res.status, 503);
    assert.match(await res.text(), /npm run build:web/);
  });
});
