/** Streams: each stream app's topology as a graph, its throughput, tasks, state sizes and lag. */
import { useEffect, useMemo, useRef, useState } from 'react';
import { enc } from '../api.ts';
import { Chart } from '../components/chart.tsx';
import { Graph, type GraphEdge, type GraphNode } from '../components/graph.tsx';
import { Badge, Empty, ErrorBox, Loading, Pager, Panel, usePaged } from '../components/ui.tsx';
import { useApi } from '../hooks.ts';
import { formatBytes, formatCount, formatRate, formatTime } from '../lib/format.ts';
import { appendPoint, emptyRolling, type Rolling } from '../lib/series.ts';
import { Link, navigate } from '../router.tsx';

interface AppSummary {
  id: string;
  description: string | null;
  file: string | null;
  state: string;
  detail: string;
  processingGuarantee: string | null;
  tasks: number;
  stores: number;
  processed: number;
  deadLettered: number;
  late: number;
  lastError: { code: string; message: string; at: string } | null;
}
interface TopologyNode {
  name: string;
  kind: string;
  children: string[];
  stores: string[];
  topics: string[];
  detail?: string;
}
interface AppDescription extends AppSummary {
  topology: {
    appId: string;
    subtopologies: Array<{ id: number; sourceTopics: string[]; sinkTopics: string[]; stores: string[]; nodes: TopologyNode[] }>;
    stores: Array<{ name: string; kind: string; changelogTopic: string; detail: string }>;
    internalTopics: Array<{ name: string; role: string }>;
  } | null;
  taskDetails: Array<{ id: string; partition: number; inputs: string[]; watermark: number | null; processed: number; stores: Array<{ name: string; entries: number; approximateBytes: number }> }>;
  lag: Array<{ topic: string; partition: number; committedOffset: number | null; logEndOffset: number; lag: number | null }>;
  totalLag: number;
}

const CAPACITY = 300;

/** Records/s from successive readings of monotonically growing counters (per key), timed on arrival. */
function useRates(counts: Record<string, number> | undefined): Rolling {
  const [rolling, setRolling] = useState<Rolling>(emptyRolling());
  const prev = useRef<{ time: number; counts: Record<string, number> } | null>(null);
  useEffect(() => {
    if (!counts) return;
    const time = Date.now();
    const p = prev.current;
    prev.current = { time, counts };
    if (!p || time <= p.time) return;
    const dt = (time - p.time) / 1000;
    const rates: Record<string, number> = {};
    for (const [k, v] of Object.entries(counts)) rates[k] = Math.max(0, (v - (p.counts[k] ?? v)) / dt);
    setRolling((r) => appendPoint(r, time, rates, CAPACITY));
  }, [counts]);
  return rolling;
}

export function Streams() {
  const list = useApi<{ apps: AppSummary[] }>('/api/streams', { refreshMs: 4000, live: 1000 });
  const counts = useMemo(() => (list.data ? Object.fromEntries(list.data.apps.map((a) => [a.id, a.processed])) : undefined), [list.data]);
  const rates = useRates(counts);
  const page = usePaged(list.data?.apps ?? [], 20);
  const series = useMemo(() => Object.keys(rates.series).map((k) => ({ label: k, values: rates.series[k]! })), [rates]);
  return (
    <div className="view" data-testid="streams">
      <div className="view-title">
        <h1>Stream apps</h1>
      </div>
      <ErrorBox error={list.error} title="Stream apps" onRetry={list.reload} />
      {!list.data && !list.error && <Loading what="stream apps" />}
      {list.data && list.data.apps.length === 0 && <Empty>No stream apps: put them in the project's streams/ folder.</Empty>}
      {page.items.length > 0 && (
        <>
          <Panel title="Records processed per second, by app">
            {rates.times.length ? <Chart x={rates.times} series={series} testId="chart-streams" /> : <Empty>Measuring (two readings are needed)…</Empty>}
          </Panel>
          <table data-testid="stream-apps">
            <thead>
              <tr>
                <th>app</th>
                <th>state</th>
                <th>guarantee</th>
                <th className="num">tasks</th>
                <th className="num">stores</th>
                <th className="num">processed</th>
                <th className="num">rate</th>
                <th className="num">dead letters</th>
                <th className="num">late</th>
                <th>last error</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((a) => {
                const r = rates.series[a.id];
                return (
                  <tr key={a.id}>
                    <td>
                      <Link to={`/streams/${enc(a.id)}`}>{a.id}</Link>
                      {a.description && <div className="muted">{a.description}</div>}
                    </td>
                    <td>
                      <Badge status={a.state} title={a.detail} />
                    </td>
                    <td>{a.processingGuarantee ?? '—'}</td>
                    <td className="num">{a.tasks}</td>
                    <td className="num">{a.stores}</td>
                    <td className="num">{formatCount(a.processed)}</td>
                    <td className="num">{formatRate(r?.[r.length - 1] ?? null)}</td>
                    <td className="num">{formatCount(a.deadLettered)}</td>
                    <td className="num">{formatCount(a.late)}</td>
                    <td className="error-text">{a.lastError ? `${a.lastError.message} (${a.lastError.code})` : ''}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <Pager page={page} label="apps" />
        </>
      )}
    </div>
  );
}

function topologyGraph(d: AppDescription): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const seen = new Set<string>();
  const add = (n: GraphNode) => {
    if (seen.has(n.id)) return;
    seen.add(n.id);
    nodes.push(n);
  };
  const storeBytes = new Map<string, number>();
  for (const t of d.taskDetails) for (const s of t.stores) storeBytes.set(s.name, (storeBytes.get(s.name) ?? 0) + s.approximateBytes);
  for (const sub of d.topology?.subtopologies ?? []) {
    for (const n of sub.nodes) {
      add({ id: `op:${n.name}`, label: n.name, sublabel: n.kind, tone: 'info' });
      for (const c of n.children) edges.push({ from: `op:${n.name}`, to: `op:${c}` });
      for (const s of n.stores) {
        add({ id: `store:${s}`, label: s, sublabel: `store · ${formatBytes(storeBytes.get(s) ?? 0)}`, tone: 'warn' });
        edges.push({ from: `op:${n.name}`, to: `store:${s}` });
      }
    }
    for (const t of sub.sourceTopics) {
      add({ id: `topic:${t}`, label: t, sublabel: 'topic', tone: 'ok', onClick: () => navigate(`/topics/${enc(t)}`) });
      const reader = sub.nodes.find((n) => n.kind.includes('source') && n.topics.includes(t)) ?? sub.nodes.find((n) => n.topics.includes(t));
      if (reader) edges.push({ from: `topic:${t}`, to: `op:${reader.name}` });
    }
    for (const t of sub.sinkTopics) {
      add({ id: `topic:${t}`, label: t, sublabel: 'topic', tone: 'ok', onClick: () => navigate(`/topics/${enc(t)}`) });
      const writer = sub.nodes.find((n) => n.kind.includes('sink') && n.topics.includes(t)) ?? [...sub.nodes].reverse().find((n) => n.topics.includes(t));
      if (writer) edges.push({ from: `op:${writer.name}`, to: `topic:${t}` });
    }
  }
  return { nodes, edges };
}

export function StreamApp({ id }: { id: string }) {
  const app = useApi<AppDescription>(`/api/streams/${enc(id)}`, { refreshMs: 4000, live: 1000 });
  const counts = useMemo(() => (app.data ? { processed: app.data.processed } : undefined), [app.data]);
  const rates = useRates(counts);
  const graph = useMemo(() => (app.data ? topologyGraph(app.data) : { nodes: [], edges: [] }), [app.data]);
  const tasks = usePaged(app.data?.taskDetails ?? [], 20);
  const lag = usePaged(app.data?.lag ?? [], 20);
  const stores = useMemo(() => {
    const by = new Map<string, { entries: number; bytes: number }>();
    for (const t of app.data?.taskDetails ?? []) {
      for (const s of t.stores) {
        const v = by.get(s.name) ?? { entries: 0, bytes: 0 };
        v.entries += s.entries;
        v.bytes += s.approximateBytes;
        by.set(s.name, v);
      }
    }
    return [...by.entries()].map(([name, v]) => ({ name, ...v }));
  }, [app.data]);
  const storePage = usePaged(stores, 20);
  return (
    <div className="view" data-testid="stream-app">
      <div className="view-title">
        <h1>
          <Link to="/streams">Stream apps</Link> / {id}
        </h1>
        {app.data && <Badge status={app.data.state} title={app.data.detail} />}
      </div>
      <ErrorBox error={app.error} title={`Stream app ${id}`} onRetry={app.reload} />
      {app.data?.lastError && (
        <div className="error" role="alert">
          <strong>Last error</strong> ({formatTime(Date.parse(app.data.lastError.at))}): {app.data.lastError.message} ({app.data.lastError.code})
        </div>
      )}
      {app.data && (
        <p className="muted">
          {app.data.detail} · {app.data.processingGuarantee ?? ''} · {formatCount(app.data.processed)} processed · lag {formatCount(app.data.totalLag)} · {app.data.file ?? ''}
        </p>
      )}
      <Panel title="Topology">
        {app.data && !app.data.topology && <Empty>The app has no topology (it failed to load): {app.data.detail}</Empty>}
        {graph.nodes.length > 0 && <Graph nodes={graph.nodes} edges={graph.edges} testId="topology" />}
      </Panel>
      <div className="grid2">
        <Panel title="Records processed per second">
          {rates.times.length ? <Chart x={rates.times} series={[{ label: id, values: rates.series['processed'] ?? [] }]} testId="chart-stream-rate" /> : <Empty>Measuring…</Empty>}
        </Panel>
        <Panel title="State stores">
          {stores.length === 0 ? (
            <Empty>No state stores.</Empty>
          ) : (
            <>
              <Chart kind="bar" x={stores.map((_, i) => i)} categories={stores.map((s) => s.name)} series={[{ label: 'approximate bytes', values: stores.map((s) => s.bytes) }]} format={(v) => formatBytes(v)} height={180} testId="chart-stores" />
              <table data-testid="stores">
                <thead>
                  <tr>
                    <th>store</th>
                    <th className="num">entries</th>
                    <th className="num">approximate size</th>
                  </tr>
                </thead>
                <tbody>
                  {storePage.items.map((s) => (
                    <tr key={s.name}>
                      <td>{s.name}</td>
                      <td className="num">{formatCount(s.entries)}</td>
                      <td className="num">{formatBytes(s.bytes)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager page={storePage} label="stores" />
            </>
          )}
        </Panel>
      </div>
      <div className="grid2">
        <Panel title="Tasks">
          {tasks.items.length === 0 ? (
            <Empty>No tasks run in this process.</Empty>
          ) : (
            <>
              <table data-testid="stream-tasks">
                <thead>
                  <tr>
                    <th>task</th>
                    <th>inputs</th>
                    <th>watermark</th>
                    <th className="num">processed</th>
                  </tr>
                </thead>
                <tbody>
                  {tasks.items.map((t) => (
                    <tr key={t.id}>
                      <td>{t.id}</td>
                      <td className="mono">{t.inputs.join(', ')}</td>
                      <td>{t.watermark === null ? '—' : formatTime(t.watermark)}</td>
                      <td className="num">{formatCount(t.processed)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager page={tasks} label="tasks" />
            </>
          )}
        </Panel>
        <Panel title="Input lag">
          {lag.items.length === 0 ? (
            <Empty>No committed input offsets yet.</Empty>
          ) : (
            <>
              <table data-testid="stream-lag">
                <thead>
                  <tr>
                    <th>partition</th>
                    <th className="num">committed</th>
                    <th className="num">log end</th>
                    <th className="num">lag</th>
                  </tr>
                </thead>
                <tbody>
                  {lag.items.map((l) => (
                    <tr key={`${l.topic}/${l.partition}`}>
                      <td>
                        <Link to={`/topics/${enc(l.topic)}`}>{l.topic}</Link>/{l.partition}
                      </td>
                      <td className="num">{l.committedOffset ?? '—'}</td>
                      <td className="num">{formatCount(l.logEndOffset)}</td>
                      <td className="num">{l.lag === null ? '—' : formatCount(l.lag)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager page={lag} label="partitions" />
            </>
          )}
        </Panel>
      </div>
    </div>
  );
}
