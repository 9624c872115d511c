/**
 * The web UI end to end: a real `tributary up` on the shop demo (its generator's traffic, a consumer
 * group reading over the HTTP API) and Debian's Chromium walking every view as a person would.
 * Screenshots go to test-artifacts/ui/ (git-ignored).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, startTributary, type RunningTributary } from '../helpers/tributary-process.ts';
import { openBrowser, type Browser } from './browser.ts';
import { ensureWebBuilt } from './ui-build.ts';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'ui');
let server: RunningTributary;
let browser: Browser;

async function api(p: string, init?: RequestInit): Promise<any> {
  const res = await fetch(server.url + p, { ...init, headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${p}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

before(async () => {
  ensureWebBuilt();
  server = await startTributary({
    args: ['--config', path.join(REPO_ROOT, 'examples/shop/tributary.config.ts')],
    env: { TRIBUTARY_MONITOR_SAMPLE_MS: '500', TRIBUTARY_MONITOR_LAG_INTERVAL_MS: '500', TRIBUTARY_MONITOR_LAG_WINDOW: '3' },
  });
  // A consumer group that reads a little of shop.orders, commits, and then stops: it falls behind.
  const c = await api('/api/consumers', { method: 'POST', body: JSON.stringify({ group: 'dashboards', topics: ['shop.orders'], fromBeginning: true, clientId: 'e2e-dashboard' }) });
  for (let i = 0; i < 20; i++) {
    const r = await api(`/api/consumers/${c.id}/records?maxRecords=20&timeoutMs=500`);
    if (r.records.length > 0) break;
  }
  await api(`/api/consumers/${c.id}/commit`, { method: 'POST' });
  // A source connector of our own, so the connectors view has something to pause and resume.
  await api('/api/connectors', {
    method: 'POST',
    body: JSON.stringify({ name: 'e2e-gen', config: { connector: 'generator', ratePerSecond: 20, topicPrefix: 'e2e.', seed: 7 } }),
  });
  browser = await openBrowser(ARTIFACTS);
  browser.page.setDefaultTimeout(30_000);
  // /ready answers 503 while any part is not ready: information the overview shows, not a UI error.
  browser.expectFailure(/\/ready$/);
});

after(async () => {
  await browser?.close();
  const run = await server?.stop();
  assert.equal(run?.code, 0, run?.stderr);
});

describe('web UI journey over every view', () => {
  it('Overview: health of each part, live charts, consumer groups, failures found by filter', async () => {
    const { page } = browser;
    await page.goto(server.url);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.locator('.live.open').waitFor();
    // Every part /ready reports is listed with its state. Parts that run the demo's apps may change
    // state while the page loads (the view refreshes /ready every 5 s), so the core parts must be
    // ready and every other part must show one of the states a part can be in.
    const ready = (await (await fetch(`${server.url}/ready`)).json()) as { parts: Record<string, { state: string }> };
    const parts = page.getByTestId('parts');
    const stateOf = (name: string, state: RegExp) => parts.locator('tr', { has: page.getByRole('cell', { name, exact: true }) }).locator('.badge', { hasText: state });
    for (const part of ['bus', 'kafka', 'generators', 'monitor', 'http']) {
      assert.equal(ready.parts[part]?.state, 'ready', part);
      await stateOf(part, /^ready$/).waitFor();
    }
    for (const name of Object.keys(ready.parts)) await stateOf(name, /^(starting|ready|failed|stopping|stopped|disabled)$/).waitFor();
    // Charts draw once samples arrive (history, then live ticks). The topic chart shows the busiest
    // topics: some of the demo's own (which ones depends on the stream apps' internal topics).
    await page.getByTestId('chart-topics').locator('canvas').waitFor();
    await page.getByTestId('chart-io').locator('canvas').waitFor();
    await page.getByTestId('chart-lag').locator('canvas').waitFor();
    await page.getByTestId('chart-topics').getByText(/^shop\.(searches|orders|reviews|deliveries|pos-sales)$/).first().waitFor();
    await page.getByTestId('chart-lag').getByText(/^dashboards$/).first().waitFor();
    // The group stopped reading: the trend makes it STALLED (its row says why).
    const dashboards = page.getByTestId('group-status').locator('tr', { has: page.getByRole('link', { name: 'dashboards', exact: true }) });
    await dashboards.locator('.badge', { hasText: /^STALLED$/ }).waitFor();
    await dashboards.getByText(/shop\.orders\/\d: no progress for/).waitFor();
    // The demo's generator appends ~50 records/s: the figure is a non-zero rate.
    await page.getByTestId('stat-append').getByText(/^[1-9][\d.]*k?\/s$/).waitFor();
    // The failures list reports it in words. The demo's stream apps change status often on a loaded
    // machine and push it down the list, so find it with the filter (which asks the server).
    await page.getByLabel('filter failures').fill('dashboards');
    await page.getByTestId('failures').getByText(/consumer group dashboards is STALLED/).first().waitFor();
    await page.getByLabel('failure severity').selectOption('error');
    await page.getByTestId('failures').getByText(/consumer group dashboards is STALLED/).first().waitFor();
    assert.equal(await page.getByTestId('failures').locator('.badge').filter({ hasNotText: /^error$/ }).count(), 0);
    await browser.screenshot('01-overview');
    await page.getByLabel('filter failures').fill('');
    await page.getByLabel('failure severity').selectOption('');
  });

  it('Topics: list with paging and filter, partitions, live tail, producing a test message', async () => {
    const { page } = browser;
    await page.getByRole('navigation').getByRole('link', { name: 'Topics' }).click();
    const list = page.getByTestId('topic-list');
    const names = ((await api('/api/topics')) as { topics: Array<{ name: string }> }).topics.map((t) => t.name);
    const all = names.length;
    await page.getByText(new RegExp(`1–${Math.min(20, all)} of \\d+ topics`)).waitFor();
    if (all > 20) {
      // The list pages: the second page continues where the first ended.
      await page.getByRole('button', { name: 'Next ›' }).click();
      await page.getByText(/21–\d+ of \d+ topics · page 2/).waitFor();
    }
    await page.getByLabel('filter topics').fill('shop.');
    for (const t of ['shop.searches', 'shop.orders', 'shop.reviews', 'shop.deliveries', 'shop.pos-sales']) await list.getByRole('link', { name: t, exact: true }).waitFor();
    await page.getByLabel('filter topics').fill('pos-sales');
    await list.getByRole('link', { name: 'shop.pos-sales', exact: true }).waitFor();
    assert.equal(await list.locator('tbody tr').count(), names.filter((n) => n.includes('pos-sales')).length);
    await page.getByLabel('filter topics').fill('shop.');
    await browser.screenshot('02-topics');

    await list.getByRole('link', { name: 'shop.orders', exact: true }).click();
    await page.getByRole('heading', { name: /shop\.orders/ }).waitFor();
    const partitions = page.getByTestId('partitions');
    await partitions.locator('tbody tr').nth(2).waitFor();
    assert.equal(await partitions.locator('tbody tr').count(), 3);
    const tail = page.getByTestId('tail');
    await tail.getByText('event-type=order').first().waitFor();
    await tail.getByText(/^o-/).first().waitFor();

    const form = page.getByTestId('produce');
    await form.locator('input[name="key"]').fill('e2e-key');
    await form.locator('select[name="partition"]').selectOption('1');
    await form.locator('input[name="headers"]').fill('source=e2e, run=journey');
    await form.locator('textarea[name="value"]').fill('{"e2e":true}');
    await form.getByRole('button', { name: 'Send' }).click();
    await page.getByTestId('produce-result').getByText(/Written to partition 1 at offset \d+\./).waitFor();
    // Find it among the records streaming in, then pause the tail so rows stop moving.
    await page.getByLabel('find in tail').fill('e2e-key');
    const mine = tail.locator('tr', { hasText: 'e2e-key' });
    await mine.waitFor();
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    assert.equal(await tail.locator('tbody tr').count(), 1);
    assert.match((await mine.textContent())!, /source=e2e, run=journey/);
    await mine.click(); // expands the value
    await mine.locator('pre').getByText('"e2e": true').waitFor();

    // A bad header line is refused in words, before anything is sent.
    await form.locator('input[name="headers"]').fill('no-equals-sign');
    await form.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('alert').getByText(/header “no-equals-sign” is not name=value/).waitFor();
    await browser.screenshot('03-topic-detail');

    // An API error is shown in words.
    browser.expectFailure(/\/api\/topics\/no\.such\.topic/);
    browser.expectFailure(/\/api\/tail\/no\.such\.topic/);
    await page.goto(`${server.url}/topics/no.such.topic`);
    await page.getByRole('alert').first().getByText(/topic no\.such\.topic does not exist/).waitFor();
    await browser.screenshot('04-topic-missing');
  });

  it('Consumer groups: status, members, assignment and lag per partition, updating live', async () => {
    const { page } = browser;
    let sseSeen = false;
    page.on('request', (r) => {
      if (r.url().endsWith('/api/events')) sseSeen = true;
    });
    await page.goto(`${server.url}/groups`);
    const list = page.getByTestId('group-list');
    const row = list.locator('tr', { hasText: 'dashboards' });
    await row.waitFor();
    await row.getByText('STALLED').waitFor();
    await browser.screenshot('05-groups');
    await row.getByRole('link', { name: 'dashboards' }).click();
    await page.getByRole('heading', { name: /dashboards/ }).waitFor();
    await page.getByTestId('members').getByText('e2e-dashboard').waitFor();
    assert.match((await page.getByTestId('members').textContent())!, /shop\.orders\/0, shop\.orders\/1, shop\.orders\/2/);
    const parts = page.getByTestId('group-partitions');
    await parts.locator('tbody tr').first().waitFor();
    assert.ok((await parts.locator('tbody tr').count()) >= 1);
    await parts.getByText('STALLED').first().waitFor();
    await page.getByTestId('lag-reason').getByText(/STALLED: shop\.orders\/\d: no progress for/).waitFor();
    await page.getByTestId('chart-group-lag').locator('canvas').waitFor();
    // Live without a reload: the view follows the monitor's ticks (Server-Sent Events on
    // /api/events), and the lag of the group, which reads nothing, keeps growing on screen.
    const lagText = async () => (await parts.locator('tbody').textContent()) ?? '';
    const before = await lagText();
    let changed = false;
    for (let i = 0; i < 240 && !changed; i++) {
      await new Promise((r) => setTimeout(r, 250));
      changed = (await lagText()) !== before;
    }
    assert.ok(changed, 'the partition table did not change within 60 s');
    assert.ok(sseSeen, 'the groups view did not open the live stream (/api/events)');
    await browser.screenshot('06-group-detail');
  });

  it('Streams: each app with its state, topology graph, tasks and state stores', async () => {
    const { page } = browser;
    const { apps } = (await api('/api/streams')) as { apps: Array<{ id: string; state: string; stores: number; lastError: { message: string } | null }> };
    await page.goto(`${server.url}/streams`);
    if (apps.length === 0) {
      await page.getByText(/No stream apps/).waitFor();
      return;
    }
    const list = page.getByTestId('stream-apps');
    for (const a of apps) {
      await list.getByRole('link', { name: a.id, exact: true }).waitFor();
      // A failed app's error is shown in words.
      if (a.lastError) await list.getByText(a.lastError.message.slice(0, 60), { exact: false }).first().waitFor();
    }
    await page.getByTestId('chart-streams').locator('canvas').waitFor();
    await browser.screenshot('07-streams');
    const running = apps.find((a) => a.state === 'running') ?? apps[0]!;
    const detail = (await api(`/api/streams/${encodeURIComponent(running.id)}`)) as { topology: { subtopologies: Array<{ sourceTopics: string[] }> } | null; taskDetails: unknown[] };
    await list.getByRole('link', { name: running.id, exact: true }).click();
    await page.getByRole('heading', { name: new RegExp(running.id) }).waitFor();
    if (detail.topology) {
      const source = detail.topology.subtopologies[0]!.sourceTopics[0]!;
      await page.getByTestId('topology').locator(`[data-node="topic:${source}"]`).waitFor();
    }
    if (detail.taskDetails.length) await page.getByTestId('stream-tasks').locator('tbody tr').first().waitFor();
    if (running.stores > 0) await page.getByTestId('stores').locator('tbody tr').first().waitFor();
    await browser.screenshot('08-stream-app');
  });

  it('Workflows: DAG list, grid of runs × tasks, graph, Gantt, live task log, trigger, clear, backfill', async () => {
    const { page } = browser;
    const { dags } = (await api('/api/dags')) as { dags: Array<{ dagId: string; paused: boolean }> };
    await page.goto(`${server.url}/workflows`);
    if (dags.length === 0) {
      await page.getByText(/No DAGs/).waitFor();
      await browser.screenshot('09-workflows');
      return;
    }
    assert.ok(dags.some((d) => d.dagId === 'monthly_stats'), 'the demo has the monthly_stats DAG');
    for (const d of dags) await page.getByTestId('dag-list').getByRole('link', { name: d.dagId, exact: true }).waitFor();
    await browser.screenshot('09-workflows');
    const dag = dags[0]!;
    await page.getByTestId('dag-list').getByRole('link', { name: dag.dagId, exact: true }).click();
    await page.getByRole('heading', { name: new RegExp(dag.dagId) }).waitFor();
    await page.getByTestId('trigger').getByRole('button', { name: 'Trigger run' }).click();
    await page.getByText(/Triggered: done \(run .+\)\./).waitFor();
    const grid = page.getByTestId('run-grid');
    await grid.locator('button.sq').first().waitFor();
    await grid.locator('button.sq').first().click();
    await page.getByTestId('task-log').waitFor();
    await page.getByTestId('run-tasks').locator('tbody tr').first().waitFor();
    await browser.screenshot('10-dag-grid');
    await page.getByRole('tab', { name: 'Graph' }).click();
    await page.getByTestId('dag-graph').locator('[data-node]').first().waitFor();
    await page.getByRole('tab', { name: 'Gantt' }).click();
    await page.getByTestId('gantt').or(page.getByText('No task of this run has started yet.')).first().waitFor();
    await browser.screenshot('11-dag-gantt');
    // A backfill without dates is refused in words before anything is sent.
    await page.getByTestId('backfill').getByRole('button', { name: 'Backfill' }).click();
    await page.getByRole('alert').getByText(/a backfill needs a start and an end/).waitFor();

    // Clear a finished task of the run just triggered: it runs again.
    const runId = (await page.getByText(/Triggered: done \(run .+\)\./).textContent())!.match(/\(run (.+)\)\./)![1]!;
    type RunDetail = { state: string; tasks: Array<{ taskId: string; state: string; tryNumber: number }> };
    let run: RunDetail | undefined;
    for (let i = 0; i < 300; i++) {
      run = (await api(`/api/dags/${encodeURIComponent(dag.dagId)}/runs/${encodeURIComponent(runId)}`)) as RunDetail;
      if (['success', 'failed'].includes(run.state)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(run && ['success', 'failed'].includes(run.state), `run ${runId} of ${dag.dagId} did not finish within 150 s: ${JSON.stringify(run)}`);
    const last = run.tasks[run.tasks.length - 1]!;
    await page.getByRole('tab', { name: 'Grid' }).click();
    const escaped = runId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await page.getByTestId('run-grid').getByRole('button', { name: new RegExp(`^run ${escaped} `) }).click();
    await page.getByRole('heading', { name: `Run ${runId}`, exact: true }).waitFor();
    const row = page.getByTestId('run-tasks').locator('tr', { has: page.getByRole('button', { name: last.taskId, exact: true }) });
    await row.locator('.badge', { hasText: /^(success|failed|upstream_failed|skipped)$/ }).waitFor();
    await row.getByRole('button', { name: 'Clear' }).click();
    await page.getByText(new RegExp(`^Cleared ${last.taskId}: done`)).waitFor();
    for (let i = 0; i < 300; i++) {
      const again = (await api(`/api/dags/${encodeURIComponent(dag.dagId)}/runs/${encodeURIComponent(runId)}`)) as RunDetail;
      if (again.tasks.find((t) => t.taskId === last.taskId)!.tryNumber > last.tryNumber || !['success', 'failed'].includes(again.state)) break;
      assert.ok(i < 299, `clearing ${last.taskId} did not make it run again`);
      await new Promise((r) => setTimeout(r, 500));
    }

    // A backfill of the monthly DAG over two months: its progress is shown and updates.
    await page.goto(`${server.url}/workflows/monthly_stats`);
    await page.getByRole('heading', { name: /monthly_stats/ }).waitFor();
    const backfill = page.getByTestId('backfill');
    await backfill.getByLabel('backfill from').fill('2026-08-15T00:00');
    await backfill.getByLabel('backfill to').fill('2026-10-15T00:00');
    await backfill.getByRole('button', { name: 'Backfill' }).click();
    await page.getByText(/Backfill created: done \(backfill \d+\)\./).waitFor();
    await page.getByTestId('backfill-status').getByText(/: \d+ of [1-9]\d* intervals done/).waitFor();
    await browser.screenshot('11b-dag-backfill');
  });

  it('Connectors: status, records and dead letters, pause, resume and restart', async () => {
    const { page } = browser;
    await page.getByRole('navigation').getByRole('link', { name: 'Connectors' }).click();
    const row = page.getByTestId('connector-list').locator('tr', { hasText: 'e2e-gen' });
    await row.getByText('RUNNING', { exact: true }).waitFor();
    await row.getByText('1/1 running').waitFor();
    await row.getByRole('button', { name: 'Pause' }).click();
    await row.getByText('PAUSED', { exact: true }).waitFor();
    await row.getByRole('button', { name: 'Resume' }).click();
    await row.getByText('RUNNING', { exact: true }).waitFor();
    await row.getByRole('button', { name: 'Restart' }).click();
    await row.getByText(/^ ?restart: done at /).waitFor();
    await row.getByText('RUNNING', { exact: true }).waitFor();
    await browser.screenshot('14-connectors');
    await row.getByRole('link', { name: 'e2e-gen' }).click();
    await page.getByTestId('tasks').getByText('RUNNING', { exact: true }).waitFor();
    await page.getByText('no dead-letter topic configured').waitFor();
    await page.getByTestId('offsets').getByText(/emitted/).waitFor();
    await browser.screenshot('15-connector-detail');
    // An API error is shown in words: restarting a task that does not exist.
    browser.expectFailure(/\/api\/connectors\/nope/);
    await page.goto(`${server.url}/connectors/nope`);
    await page.getByRole('alert').first().getByText(/nope/).waitFor();
  });

  it('Lake: tables by zone, schema, partitions, files, snapshots and time travel', async () => {
    const { page } = browser;
    const { sinks } = (await api('/api/lake/sinks')) as { sinks: unknown[] };
    // The demo's lake sinks commit their first files after their roll interval: wait for a table (bounded).
    type Table = { fullName: string; rows: number; schema: { columns: Array<{ name: string }> } };
    let tables: Table[] = [];
    for (let i = 0; i < 120 && sinks.length > 0; i++) {
      tables = ((await api('/api/lake/tables')) as { tables: Table[] }).tables.filter((t) => t.rows > 0);
      if (tables.length > 0) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    await page.goto(`${server.url}/lake`);
    await page.getByRole('tab', { name: 'raw' }).waitFor();
    if (sinks.length === 0) {
      await page.getByText(/No tables at this snapshot|No lake sinks configured/).first().waitFor();
      await browser.screenshot('12-lake');
      return;
    }
    assert.ok(tables.length > 0, 'the demo lake sinks committed no table within 120 s');
    await page.getByTestId('lake-sinks').locator('tbody tr').first().waitFor();
    const list = page.getByTestId('lake-tables');
    for (const t of tables.slice(0, 20)) await list.getByRole('link', { name: t.fullName, exact: true }).waitFor();
    await browser.screenshot('12-lake');
    const t = tables[0]!;
    await list.getByRole('link', { name: t.fullName, exact: true }).click();
    for (const c of t.schema.columns.slice(0, 5)) await page.getByTestId('schema').getByRole('cell', { name: c.name, exact: true }).waitFor();
    await page.getByTestId('lake-partitions').locator('tbody tr').first().waitFor();
    await page.getByTestId('lake-files').locator('tbody tr').first().waitFor();
    const snapshots = page.getByTestId('lake-snapshots');
    await snapshots.locator('tbody tr').first().waitFor();
    await browser.screenshot('13-lake-table');
    // Time travel: the table as of its oldest listed snapshot.
    const oldest = snapshots.locator('tbody tr').last();
    const id = (await oldest.locator('td').first().textContent())!.trim();
    await oldest.getByRole('button', { name: 'view as of' }).click();
    await page.getByText(new RegExp(`as of snapshot ${id}$`)).waitFor();
    assert.match(page.url(), new RegExp(`\\?snapshot=${id}$`));
    const ready = (await (await fetch(`${server.url}/ready`)).json()) as { parts: Record<string, unknown> };
    if (ready.parts['warehouse']) {
      // Sample rows of that snapshot, through the SQL warehouse.
      await page.getByRole('button', { name: 'Show 50 rows' }).click();
      await page.getByTestId('sql-result').getByRole('columnheader', { name: new RegExp(`^${t.schema.columns[0]!.name}\\b`) }).waitFor();
      await page.getByTestId('sql-result').locator('tbody tr td').first().waitFor();
      await browser.screenshot('13b-lake-sample-rows');
    }
  });

  it('SQL console: a query, its table and chart, CSV download, errors in words', async () => {
    const { page } = browser;
    const ready = (await (await fetch(`${server.url}/ready`)).json()) as { parts: Record<string, { state: string }> };
    if (!ready.parts['warehouse']) {
      // Not on this server yet: the page says which part is missing.
      await page.goto(`${server.url}/sql`);
      await page.getByRole('alert').getByText(/this server does not run the SQL warehouse/).waitFor();
      return;
    }
    await page.goto(`${server.url}/sql`);
    const editor = page.getByLabel('SQL');
    await editor.fill("SELECT i AS n, i * i AS square, 'row ' || i AS label FROM range(1, 101) t(i)");
    await page.getByRole('button', { name: /Run/ }).click();
    await page.getByTestId('sql-summary').getByText(/^100 rows/).waitFor();
    await page.getByTestId('sql-result').getByRole('cell', { name: 'row 7', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Chart', exact: true }).click();
    await page.getByTestId('sql-chart').locator('canvas').waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    const csv = await (await import('node:fs/promises')).readFile((await download.path())!, 'utf8');
    assert.match(csv, /^n,square,label\r\n1,1,row 1\r\n/);
    assert.equal(csv.trim().split('\r\n').length, 101);
    await browser.screenshot('16-sql');
    browser.expectFailure(/\/api\/sql/);
    await editor.fill('SELEC nonsense');
    await page.getByRole('button', { name: /Run/ }).click();
    await page.getByRole('alert').getByText(/syntax|parser|SELEC/i).waitFor();
  });

  it('an unknown page says so', async () => {
    const { page } = browser;
    await page.goto(`${server.url}/no/such/page`);
    await page.getByRole('alert').getByText(/there is no page at \/no\/such\/page/).waitFor();
  });

  it('saw no console errors, page errors or failed requests', () => {
    assert.deepEqual(browser.problems, []);
  });
});
