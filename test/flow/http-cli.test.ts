/**
 * The workflow HTTP API and `tributary dags …` against a real `startTributary` (flow in inline
 * mode): list with import errors, trigger with params, runs, logs (JSON and SSE), backfill with
 * progress, mark/clear, pause, dataset events, test runs — and bad requests answered with codes.
 */
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { resolveConfig } from '../../src/config/resolve.ts';
import { startTributary, type TributaryInstance } from '../../src/server/instance.ts';
import { runCliCaptured } from '../helpers/cli.ts';
import { tempDirUntilExit } from '../helpers/temp-dir.ts';

let instance: TributaryInstance;
let url: string;
let projectDir: string;

async function api(method: string, p: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url + p, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function waitRun(runId: string): Promise<any> {
  for (;;) {
    const r = await api('GET', `/api/dags/web/runs/${encodeURIComponent(runId)}`);
    if (r.json.state === 'success' || r.json.state === 'failed') return r.json;
    await new Promise((res) => setTimeout(res, 20));
  }
}

const cli = (args: string[]) => runCliCaptured([...args, '--server', url], { cwd: projectDir });

before(async () => {
  projectDir = await tempDirUntilExit('flow-http-');
  cpSync(path.join(import.meta.dirname, 'fixtures', 'project'), projectDir, { recursive: true });
  const { readFileSync, writeFileSync } = await import('node:fs');
  // The copy lives elsewhere: point its import at this checkout's sources.
  const web = path.join(projectDir, 'dags', 'web.ts');
  writeFileSync(web, readFileSync(web, 'utf8').replace('../../../../../src/flow/index.ts', path.resolve(import.meta.dirname, '../../src/flow/index.ts')));
  writeFileSync(
    path.join(projectDir, 'tributary.config.json'),
    JSON.stringify({ http: { port: 0 }, kafka: { enabled: false }, flow: { mode: 'inline', workers: 2 } }),
  );
  const config = await resolveConfig({ config: path.join(projectDir, 'tributary.config.json'), dataDir: path.join(projectDir, 'data') }, {}, projectDir);
  instance = await startTributary(config, { logger: pino({ level: 'silent' }) });
  url = instance.httpUrl;
});

after(async () => {
  await instance?.close();
});

describe('flow HTTP API', () => {
  it('lists DAGs and the files that failed to load', async () => {
    const r = await api('GET', '/api/dags');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.dags.map((d: { dagId: string }) => d.dagId), ['web']);
    assert.equal(r.json.importErrors.length, 1);
    assert.match(r.json.importErrors[0].message, /oops\.ts: exports no DAG/);
    const d = await api('GET', '/api/dags/web');
    assert.deepEqual(d.json.tasks.map((t: { id: string }) => t.id), ['slow', 'after']);
    assert.deepEqual(d.json.params, { n: 2, pause: 0 });
  });

  it('answers bad requests with stable codes', async () => {
    assert.equal((await api('GET', '/api/dags/nope')).json.error.code, 'DAG_NOT_FOUND');
    assert.equal((await api('GET', '/api/dags/nope')).status, 404);
    const p = await api('POST', '/api/dags/web/runs', { params: { n: 'two' } });
    assert.equal(p.status, 400, JSON.stringify(p.json));
    assert.equal(p.json.error.code, 'PARAMS_INVALID');
    const f = await api('POST', '/api/dags/web/runs', { parms: {} });
    assert.equal(f.status, 400);
    assert.match(f.json.error.message, /parms/);
    assert.equal((await api('GET', '/api/dags/web/runs?state=done')).status, 400);
    assert.equal((await api('GET', '/api/dags/web/runs/manual__nope')).json.error.code, 'RUN_NOT_FOUND');
    assert.equal((await api('POST', '/api/dags/web/backfills', { from: '2026-01-05', to: '2026-01-01' })).status, 400);
  });

  it('triggers a run with params; runs and task logs are served; logs stream live over SSE', async () => {
    const t = await api('POST', '/api/dags/web/runs', { params: { n: 4, pause: 40 }, note: 'from a test' });
    assert.equal(t.status, 201);
    const res = await fetch(`${url}/api/dags/web/runs/${encodeURIComponent(t.json.runId)}/tasks/slow/logs?follow=true`);
    assert.equal(res.headers.get('content-type')?.startsWith('text/event-stream'), true);
    const text = await res.text();
    const logs = [...text.matchAll(/event: log\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1]!).text as string);
    assert.deepEqual(logs.map((l) => /step \d/.exec(l)?.[0]), ['step 1', 'step 2', 'step 3', 'step 4']);
    assert.match(text, /event: end\ndata: \{"tryNumber":1,"state":"success"\}/);
    const run = await waitRun(t.json.runId);
    assert.equal(run.state, 'success');
    assert.equal(run.note, 'from a test');
    assert.equal(run.tasks.find((x: { taskId: string }) => x.taskId === 'after').output, 40);
    const j = await api('GET', `/api/dags/web/runs/${encodeURIComponent(t.json.runId)}/tasks/slow/logs`);
    assert.equal(j.json.done, true);
    assert.equal(j.json.lines.length, 4);
    const att = await api('GET', `/api/dags/web/runs/${encodeURIComponent(t.json.runId)}/tasks/slow`);
    assert.equal(att.json.attempts[0].outcome, 'success');
  });

  it('backfills, marks and clears, pauses, takes dataset events and test runs', async () => {
    const b = await api('POST', '/api/dags/web/backfills', { from: '2025-11-01', to: '2025-11-08' });
    assert.equal(b.status, 201);
    assert.equal(b.json.total, 7);
    let s = b.json;
    while (!s.complete) {
      await new Promise((r) => setTimeout(r, 50));
      s = (await api('GET', `/api/dags/web/backfills/${b.json.id}`)).json;
    }
    assert.deepEqual(s.states, { success: 7 });
    const runId = encodeURIComponent('backfill__2025-11-03T00:00:00.000Z');
    const m = await api('POST', `/api/dags/web/runs/${runId}/tasks/slow/mark`, { state: 'failed', downstream: true });
    assert.deepEqual(m.json.changed, ['slow', 'after']);
    const c = await api('POST', `/api/dags/web/runs/${runId}/tasks/slow/clear`, {});
    assert.deepEqual(c.json.cleared, ['slow', 'after']);
    assert.equal((await waitRun('backfill__2025-11-03T00:00:00.000Z')).state, 'success');
    assert.equal((await api('POST', '/api/dags/web/pause')).json.paused, true);
    assert.equal((await api('POST', '/api/dags/web/unpause')).json.paused, false);
    const e = await api('POST', '/api/datasets/lake.orders/events', { info: { snapshot: 3 } });
    assert.equal(e.status, 201);
    assert.equal(e.json.dataset, 'lake.orders');
    const test = await api('POST', '/api/dags/web/test', { params: { n: 1 } });
    assert.equal(test.json.state, 'success');
    assert.equal(test.json.tasks.after.output, 10);
  });
});

describe('tributary dags (CLI)', () => {
  it('list, trigger --wait, runs, logs, pause/unpause', async () => {
    const list = await cli(['dags', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^DAG\s+SCHEDULE\s+PAUSED/m);
    assert.match(list.stdout, /web\s+0 0 \* \* \*\s+no\s+2/);
    assert.match(list.stdout, /1 DAG file failed to load:\n.*oops\.ts: exports no DAG/);

    const trig = await cli(['dags', 'trigger', 'web', '-p', 'n=3', '--wait']);
    assert.equal(trig.code, 0, trig.stderr);
    assert.match(trig.stdout, /web run manual__\S+: success/);
    const runId = /run (manual__\S+):/.exec(trig.stdout)![1]!;

    const runs = await cli(['dags', 'runs', 'web', runId]);
    assert.match(runs.stdout, /slow\s+success\s+1/);
    assert.match(runs.stdout, /after\s+success\s+1\s+\S+ ms\s+30/);

    const logs = await cli(['dags', 'logs', 'web', runId, 'slow']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout.match(/INFO step \d/g)!.length, 3);
    const follow = await cli(['dags', 'logs', 'web', runId, 'slow', '--follow']);
    assert.match(follow.stdout, /step 3/);
    assert.match(follow.stderr, /attempt 1 ended: success/);

    assert.match((await cli(['dags', 'pause', 'web'])).stdout, /web paused/);
    assert.match((await cli(['dags', 'unpause', 'web'])).stdout, /web unpaused/);

    const bad = await cli(['dags', 'trigger', 'web', '--params', '{nope']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--params: not valid JSON/);
    const unknown = await cli(['dags', 'trigger', 'nope']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /error: no DAG "nope"/);
  });

  it('backfill shows progress and completes', async () => {
    const r = await cli(['dags', 'backfill', 'web', '--from', '2025-10-01', '--to', '2025-10-31']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /backfill \d+ of web: 30 intervals, 30 new runs/);
    assert.match(r.stderr, /web \|[█░ ]*\| \d+\/30 runs/);
    assert.match(r.stdout, /backfill \d+ complete: 30 succeeded, 0 failed/);
  });

  it('test runs a DAG on the server or locally', async () => {
    const remote = await cli(['dags', 'test', 'web', '-p', 'n=1']);
    assert.equal(remote.code, 0, remote.stderr);
    assert.match(remote.stdout, /web test run: success/);
    assert.match(remote.stdout, /after\s+success\s+1\s+10/);
    const local = await runCliCaptured(['dags', 'test', 'web', '--local', '--logs'], { cwd: projectDir });
    assert.equal(local.code, 0, local.stderr);
    assert.match(local.stdout, /-- slow --\n.*INFO step 1/);
  });
});
