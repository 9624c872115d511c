/**
 * Workflows: the DAG list; per DAG an Airflow-style grid of runs × tasks, the DAG graph, a Gantt
 * chart of one run, live task logs, and trigger / backfill / clear / mark buttons.
 */
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { api, enc } from '../api.ts';
import { Graph, type GraphNode } from '../components/graph.tsx';
import { Badge, Empty, ErrorBox, LiveDot, Loading, Pager, Panel, usePaged } from '../components/ui.tsx';
import { useApi, useEvents } from '../hooks.ts';
import { formatDuration, formatTime } from '../lib/format.ts';
import { Link, navigate } from '../router.tsx';

interface DagSummary {
  dagId: string;
  loaded: boolean;
  paused: boolean;
  schedule: string;
  scheduleKind: string;
  timezone: string;
  tags: string[];
  description: string | null;
  file: string | null;
  tasks: number;
  nextRunAt: string | null;
  lastRun: { runId: string; state: string; intervalStart: string; intervalEnd: string } | null;
  runs: Record<string, number>;
}
interface DagDetail extends Omit<DagSummary, 'tasks'> {
  taskCount: number;
  tasks: Array<{ id: string; kind: string; upstream: string[]; group?: string | null; description?: string | null }>;
  params: Record<string, unknown>;
}
interface RunSummary {
  id: number;
  runId: string;
  kind: string;
  state: string;
  intervalStart: string;
  intervalEnd: string;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  note: string | null;
}
interface TaskView {
  taskId: string;
  mapIndex: number;
  state: string;
  tryNumber: number;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  error: string | null;
  items?: Record<string, number>;
}
interface BackfillStatus {
  id: number;
  from: string;
  to: string;
  total: number;
  created: number;
  skipped: number;
  states: Record<string, number>;
  done: number;
  complete: boolean;
}

interface RunDetail extends RunSummary {
  tasks: TaskView[];
}

const STATE_COLOR: Record<string, string> = {
  success: '#16a34a',
  failed: '#dc2626',
  upstream_failed: '#f97316',
  running: '#65a30d',
  queued: '#9ca3af',
  scheduled: '#d1d5db',
  pending: '#f3f4f6',
  up_for_retry: '#facc15',
  up_for_reschedule: '#22d3ee',
  skipped: '#f472b6',
  mapped: '#a78bfa',
};
const tone = (s: string) => (s === 'success' ? 'ok' : s === 'failed' || s === 'upstream_failed' ? 'bad' : s === 'running' || s === 'up_for_retry' ? 'warn' : 'muted');
const ms = (iso: string | null) => (iso ? Date.parse(iso) : null);

export function Workflows() {
  const list = useApi<{ dags: DagSummary[]; importErrors: Array<{ file: string; message: string }> }>('/api/dags', { refreshMs: 3000 });
  const [error, setError] = useState<unknown>(undefined);
  const [filter, setFilter] = useState('');
  const dags = (list.data?.dags ?? []).filter((d) => d.dagId.includes(filter) || d.tags.some((t) => t.includes(filter)));
  const page = usePaged(dags, 20);
  const act = async (path: string, body?: unknown) => {
    setError(undefined);
    try {
      await api(path, { method: 'POST', body: body ?? {} });
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div className="view" data-testid="workflows">
      <div className="view-title">
        <h1>Workflows</h1>
      </div>
      <div className="toolbar">
        <input placeholder="Filter by DAG or tag" value={filter} onChange={(e) => setFilter(e.target.value)} aria-label="filter dags" />
      </div>
      <ErrorBox error={list.error} title="DAGs" onRetry={list.reload} />
      <ErrorBox error={error} title="Action" />
      {list.data?.importErrors.map((e) => (
        <div className="error" role="alert" key={e.file}>
          <strong>Import error in {e.file}:</strong> {e.message}
        </div>
      ))}
      {!list.data && !list.error && <Loading what="DAGs" />}
      {list.data && dags.length === 0 && <Empty>No DAGs: put them in the project's dags/ folder.</Empty>}
      {page.items.length > 0 && (
        <>
          <table data-testid="dag-list">
            <thead>
              <tr>
                <th>DAG</th>
                <th>schedule</th>
                <th>last run</th>
                <th>next run</th>
                <th>runs</th>
                <th className="num">tasks</th>
                <th>actions</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((d) => (
                <tr key={d.dagId}>
                  <td>
                    <Link to={`/workflows/${enc(d.dagId)}`}>{d.dagId}</Link> {d.paused && <Badge status="paused" />}
                    {d.description && <div className="muted">{d.description}</div>}
                    {d.tags.length > 0 && <div className="muted">{d.tags.map((t) => `#${t}`).join(' ')}</div>}
                  </td>
                  <td className="mono">{d.schedule}</td>
                  <td>{d.lastRun ? <Badge status={d.lastRun.state} title={d.lastRun.runId} /> : <span className="muted">never</span>}</td>
                  <td>{d.nextRunAt ? formatTime(Date.parse(d.nextRunAt)) : '—'}</td>
                  <td>
                    {Object.entries(d.runs)
                      .filter(([, n]) => n)
                      .map(([s, n]) => (
                        <span key={s} className="run-count" title={s}>
                          <span className="dot" style={{ background: STATE_COLOR[s] ?? '#999' }} /> {n}
                        </span>
                      ))}
                  </td>
                  <td className="num">{d.tasks}</td>
                  <td>
                    <div className="actions-inline">
                      <button onClick={() => act(`/api/dags/${enc(d.dagId)}/runs`)}>Trigger</button>
                      <button onClick={() => act(`/api/dags/${enc(d.dagId)}/${d.paused ? 'unpause' : 'pause'}`)}>{d.paused ? 'Unpause' : 'Pause'}</button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} label="DAGs" />
        </>
      )}
    </div>
  );
}

/** Runs (columns, oldest left) × tasks (rows), each cell coloured by state, as Airflow's grid. */
function RunGrid({ dag, runs, details, selected, onSelect }: { dag: DagDetail; runs: RunSummary[]; details: Map<string, RunDetail>; selected: { run: string; task: string | null } | null; onSelect: (run: string, task: string | null) => void }) {
  const cols = [...runs].reverse();
  return (
    <div className="grid-wrap">
      <table className="run-grid" data-testid="run-grid">
        <thead>
          <tr>
            <th>task \ run</th>
            {cols.map((r) => (
              <th key={r.runId} title={`${r.runId}\n${r.state}\n${r.intervalStart} → ${r.intervalEnd}`}>
                <button className={`bar${selected?.run === r.runId && !selected.task ? ' sel' : ''}`} style={{ background: STATE_COLOR[r.state] ?? '#999' }} onClick={() => onSelect(r.runId, null)} aria-label={`run ${r.runId} ${r.state}`} />
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {dag.tasks.map((t) => (
            <tr key={t.id}>
              <td className="mono">{t.id}</td>
              {cols.map((r) => {
                const ti = details.get(r.runId)?.tasks.find((x) => x.taskId === t.id && x.mapIndex === -1) ?? details.get(r.runId)?.tasks.find((x) => x.taskId === t.id);
                const state = ti?.state ?? 'none';
                return (
                  <td key={r.runId} className="cell">
                    <button
                      className={`sq${selected?.run === r.runId && selected.task === t.id ? ' sel' : ''}`}
                      style={{ background: STATE_COLOR[state] ?? '#fff' }}
                      title={`${t.id} · ${r.runId}: ${state}${ti?.durationMs ? ` · ${formatDuration(ti.durationMs / 1000)}` : ''}`}
                      aria-label={`${t.id} in ${r.runId}: ${state}`}
                      data-state={state}
                      onClick={() => onSelect(r.runId, t.id)}
                    />
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <div className="legend">
        {Object.entries(STATE_COLOR).map(([s, c]) => (
          <span key={s}>
            <span className="dot" style={{ background: c }} /> {s}
          </span>
        ))}
      </div>
    </div>
  );
}

/** One run's tasks on a time axis. */
function Gantt({ run }: { run: RunDetail }) {
  const rows = run.tasks.filter((t) => t.startedAt);
  if (rows.length === 0) return <Empty>No task of this run has started yet.</Empty>;
  const start = Math.min(...rows.map((t) => ms(t.startedAt)!));
  const end = Math.max(...rows.map((t) => ms(t.endedAt) ?? Date.now()), start + 1);
  const W = 640;
  const L = 180;
  const H = 22;
  const x = (t: number) => L + ((t - start) / (end - start)) * W;
  return (
    <svg width={L + W + 20} height={rows.length * H + 30} data-testid="gantt" className="gantt">
      {[0, 0.25, 0.5, 0.75, 1].map((f) => (
        <g key={f}>
          <line x1={L + f * W} x2={L + f * W} y1={0} y2={rows.length * H} stroke="#e2e8f0" />
          <text x={L + f * W} y={rows.length * H + 16} textAnchor="middle" className="axis">
            +{formatDuration(((end - start) * f) / 1000)}
          </text>
        </g>
      ))}
      {rows.map((t, i) => {
        const a = x(ms(t.startedAt)!);
        const b = x(ms(t.endedAt) ?? Date.now());
        return (
          <g key={`${t.taskId}-${t.mapIndex}`} transform={`translate(0,${i * H})`}>
            <text x={L - 8} y={15} textAnchor="end" className="label">
              {t.taskId}
              {t.mapIndex >= 0 ? `[${t.mapIndex}]` : ''}
            </text>
            <rect x={a} y={4} width={Math.max(2, b - a)} height={H - 8} rx={3} fill={STATE_COLOR[t.state] ?? '#999'}>
              <title>{`${t.taskId}: ${t.state}, ${formatDuration((t.durationMs ?? Date.now() - ms(t.startedAt)!) / 1000)}`}</title>
            </rect>
          </g>
        );
      })}
    </svg>
  );
}

/** A task's log, following it live over SSE while the attempt runs. */
function TaskLog({ dag, run, task, tryNumber }: { dag: string; run: string; task: string; tryNumber: number }) {
  const [lines, setLines] = useState<Array<{ at: number; text: string }>>([]);
  const [state, setState] = useState<string | null>(null);
  const [ended, setEnded] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    setLines([]);
    setEnded(false);
    setError(undefined);
  }, [dag, run, task, tryNumber]);
  const url = ended ? null : `/api/dags/${enc(dag)}/runs/${enc(run)}/tasks/${enc(task)}/logs?follow=true&try=${tryNumber}`;
  const live = useEvents(url, {
    attempt: (d) => setState((d as { state: string }).state),
    log: (d) => setLines((cur) => [...cur, d as { at: number; text: string }].slice(-5000)),
    end: (d) => {
      setState((d as { state: string }).state);
      setEnded(true);
    },
  });
  // EventSource cannot show an HTTP error body: ask once in JSON when the stream fails.
  useEffect(() => {
    if (ended || (live !== 'reconnecting' && live !== 'closed')) return;
    api(`/api/dags/${enc(dag)}/runs/${enc(run)}/tasks/${enc(task)}/logs?try=${tryNumber}`).then(() => undefined, setError);
  }, [live, ended, dag, run, task, tryNumber]);
  useEffect(() => {
    if (box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines]);
  return (
    <div data-testid="task-log">
      <div className="actions-inline">
        <strong>
          {task} · try {tryNumber}
        </strong>{' '}
        {state && <Badge status={state} />} <LiveDot state={ended ? 'closed' : live} />
      </div>
      <ErrorBox error={error} title="Task log" />
      <pre className="log" ref={box}>
        {lines.length ? lines.map((l) => `${formatTime(l.at)}  ${l.text}`).join('\n') : ended ? '(no output)' : 'waiting for output…'}
      </pre>
    </div>
  );
}

export function DagView({ id, tab: initialTab }: { id: string; tab: string | null }) {
  const [tab, setTab] = useState(initialTab ?? 'grid');
  const dag = useApi<DagDetail>(`/api/dags/${enc(id)}`, { refreshMs: 5000 });
  // The grid shows the newest runs; "Older runs" pages back 25 at a time.
  const [runLimit, setRunLimit] = useState(25);
  const runs = useApi<{ runs: RunSummary[] }>(`/api/dags/${enc(id)}/runs?limit=${runLimit}`, { refreshMs: 2000 });
  const [backfillId, setBackfillId] = useState<number | null>(null);
  const backfillStatus = useApi<BackfillStatus>(backfillId === null ? null : `/api/dags/${enc(id)}/backfills/${backfillId}`, { refreshMs: 2000 });
  const [details, setDetails] = useState<Map<string, RunDetail>>(new Map());
  const [detailError, setDetailError] = useState<unknown>(undefined);
  const [selected, setSelected] = useState<{ run: string; task: string | null } | null>(null);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const [notice, setNotice] = useState<string | null>(null);

  // Task states of the runs shown (each run once finished; unfinished ones on every refresh).
  useEffect(() => {
    if (!runs.data) return;
    let stop = false;
    (async () => {
      try {
        const need = runs.data!.runs.filter((r) => r.state === 'queued' || r.state === 'running' || !details.has(r.runId) || details.get(r.runId)!.state !== r.state);
        const got = await Promise.all(need.map((r) => api<RunDetail>(`/api/dags/${enc(id)}/runs/${enc(r.runId)}`)));
        if (stop) return;
        setDetails((cur) => {
          const next = new Map(cur);
          for (const d of got) next.set(d.runId, d);
          return next;
        });
        setDetailError(undefined);
      } catch (err) {
        if (!stop) setDetailError(err);
      }
    })();
    return () => {
      stop = true;
    };
  }, [runs.data]); // (details is read, not a trigger: refetching on its change would loop)

  const runList = runs.data?.runs ?? [];
  const current = selected ? details.get(selected.run) : runList[0] ? details.get(runList[0].runId) : undefined;
  const currentTask = selected?.task && current ? current.tasks.find((t) => t.taskId === selected.task) : undefined;

  const graphNodes = useMemo<GraphNode[]>(
    () =>
      (dag.data?.tasks ?? []).map((t) => {
        const ti = current?.tasks.find((x) => x.taskId === t.id);
        return {
          id: t.id,
          label: t.id,
          sublabel: ti ? `${t.kind} · ${ti.state}` : t.kind,
          tone: ti ? tone(ti.state) : 'info',
          onClick: current ? () => setSelected({ run: current.runId, task: t.id }) : undefined,
        };
      }),
    [dag.data, current],
  );
  const graphEdges = useMemo(() => (dag.data?.tasks ?? []).flatMap((t) => t.upstream.map((u) => ({ from: u, to: t.id }))), [dag.data]);

  const act = async (label: string, path: string, body: unknown) => {
    setActionError(undefined);
    setNotice(null);
    try {
      const r = await api<{ runId?: string; id?: number }>(path, { method: 'POST', body });
      setNotice(`${label}: done${r?.runId ? ` (run ${r.runId})` : r?.id ? ` (backfill ${r.id})` : ''}.`);
      if (r?.runId) setSelected({ run: r.runId, task: null }); // follow the run just triggered
      else if (r?.id !== undefined && path.endsWith('/backfills')) setBackfillId(r.id); // follow the backfill
      runs.reload();
      dag.reload();
    } catch (err) {
      setActionError(err);
    }
  };

  const [params, setParams] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const trigger = (e: FormEvent) => {
    e.preventDefault();
    let parsed: unknown = undefined;
    if (params.trim()) {
      try {
        parsed = JSON.parse(params);
      } catch (err) {
        setActionError(new Error(`params are not valid JSON: ${(err as Error).message}`));
        return;
      }
    }
    void act('Triggered', `/api/dags/${enc(id)}/runs`, parsed ? { params: parsed } : {});
  };
  const backfill = (e: FormEvent) => {
    e.preventDefault();
    if (!from || !to) {
      setActionError(new Error('a backfill needs a start and an end (from and to)'));
      return;
    }
    void act('Backfill created', `/api/dags/${enc(id)}/backfills`, { from: new Date(from).toISOString(), to: new Date(to).toISOString() });
  };

  const switchTab = (t: string) => {
    setTab(t);
    navigate(`/workflows/${enc(id)}${t === 'grid' ? '' : `?tab=${t}`}`);
  };

  return (
    <div className="view" data-testid="dag">
      <div className="view-title">
        <h1>
          <Link to="/workflows">Workflows</Link> / {id}
        </h1>
        {dag.data?.paused && <Badge status="paused" />}
      </div>
      <ErrorBox error={dag.error} title={`DAG ${id}`} onRetry={dag.reload} />
      <ErrorBox error={runs.error} title="Runs" onRetry={runs.reload} />
      <ErrorBox error={detailError} title="Run details" />
      {dag.data && (
        <p className="muted">
          {dag.data.description ?? ''} · schedule <span className="mono">{dag.data.schedule}</span> ({dag.data.timezone}) · next run {dag.data.nextRunAt ? formatTime(Date.parse(dag.data.nextRunAt)) : '—'} · {dag.data.file ?? ''}
        </p>
      )}
      <Panel title="Actions">
        <div className="actions-row">
          <form onSubmit={trigger} className="actions-inline" data-testid="trigger">
            <input placeholder='params as JSON, e.g. {"day":"2026-01-01"}' value={params} onChange={(e) => setParams(e.target.value)} aria-label="run params" size={36} />
            <button type="submit" className="primary">
              Trigger run
            </button>
          </form>
          <form onSubmit={backfill} className="actions-inline" data-testid="backfill">
            from <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} aria-label="backfill from" />
            to <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} aria-label="backfill to" />
            <button type="submit">Backfill</button>
          </form>
          {dag.data && (
            <button onClick={() => act(dag.data!.paused ? 'Unpaused' : 'Paused', `/api/dags/${enc(id)}/${dag.data!.paused ? 'unpause' : 'pause'}`, {})}>{dag.data.paused ? 'Unpause' : 'Pause'}</button>
          )}
        </div>
        {notice && <div className="notice">{notice}</div>}
        <ErrorBox error={actionError} title="Action" />
        <ErrorBox error={backfillStatus.error} title={`Backfill ${backfillId ?? ''}`} onRetry={backfillStatus.reload} />
        {backfillStatus.data && (
          <div className="notice" data-testid="backfill-status">
            Backfill {backfillStatus.data.id}, {formatTime(Date.parse(backfillStatus.data.from))} → {formatTime(Date.parse(backfillStatus.data.to))}: {backfillStatus.data.done} of{' '}
            {backfillStatus.data.total} intervals done
            {backfillStatus.data.skipped ? ` (${backfillStatus.data.skipped} skipped: already ran)` : ''} ·{' '}
            {Object.entries(backfillStatus.data.states)
              .map(([state, n]) => `${n} ${state}`)
              .join(', ') || 'no runs yet'}{' '}
            <Badge status={backfillStatus.data.complete ? 'complete' : 'running'} />
          </div>
        )}
      </Panel>
      <div className="tabs" role="tablist">
        {[
          ['grid', 'Grid'],
          ['graph', 'Graph'],
          ['gantt', 'Gantt'],
        ].map(([k, label]) => (
          <button key={k} className={tab === k ? 'active' : ''} onClick={() => switchTab(k!)} role="tab">
            {label}
          </button>
        ))}
      </div>
      {!dag.data && !dag.error && <Loading what="the DAG" />}
      {dag.data && tab === 'grid' && (runList.length === 0 ? <Empty>No runs yet: trigger one.</Empty> : <RunGrid dag={dag.data} runs={runList} details={details} selected={selected} onSelect={(run, task) => setSelected({ run, task })} />)}
      {dag.data && tab === 'grid' && runList.length > 0 && (
        <div className="pager" aria-label="run pages">
          <span>
            the newest {runList.length} run{runList.length === 1 ? '' : 's'}
            {runList.length < runLimit ? ' (all of them)' : ''}
          </span>
          <button disabled={runList.length < runLimit} onClick={() => setRunLimit((n) => n + 25)}>
            Older runs ›
          </button>
          {runLimit > 25 && <button onClick={() => setRunLimit(25)}>Newest 25 only</button>}
        </div>
      )}
      {dag.data && tab === 'graph' && <Graph nodes={graphNodes} edges={graphEdges} direction="LR" testId="dag-graph" />}
      {tab === 'gantt' && (current ? <Gantt run={current} /> : <Empty>Select a run in the grid.</Empty>)}
      {current && (
        <Panel title={`Run ${current.runId}`} actions={<Badge status={current.state} />}>
          <p className="muted">
            {current.kind} · interval {formatTime(Date.parse(current.intervalStart))} → {formatTime(Date.parse(current.intervalEnd))} · started {formatTime(ms(current.startedAt))} ·{' '}
            {current.durationMs !== null ? formatDuration(current.durationMs / 1000) : 'running'}
            {current.note ? ` · ${current.note}` : ''}
          </p>
          <RunTasks run={current} dagId={id} selectedTask={selected?.task ?? null} onSelect={(t) => setSelected({ run: current.runId, task: t })} onAction={act} />
          {currentTask && <TaskLog key={`${current.runId}/${currentTask.taskId}/${currentTask.tryNumber}`} dag={id} run={current.runId} task={currentTask.taskId} tryNumber={Math.max(1, currentTask.tryNumber)} />}
        </Panel>
      )}
    </div>
  );
}

function RunTasks({ run, dagId, selectedTask, onSelect, onAction }: { run: RunDetail; dagId: string; selectedTask: string | null; onSelect: (t: string) => void; onAction: (label: string, path: string, body: unknown) => Promise<void> }) {
  const page = usePaged(run.tasks, 20);
  const base = `/api/dags/${enc(dagId)}/runs/${enc(run.runId)}/tasks`;
  return (
    <>
      <table data-testid="run-tasks">
        <thead>
          <tr>
            <th>task</th>
            <th>state</th>
            <th className="num">try</th>
            <th>started</th>
            <th className="num">duration</th>
            <th>error</th>
            <th>actions</th>
          </tr>
        </thead>
        <tbody>
          {page.items.map((t) => (
            <tr key={`${t.taskId}-${t.mapIndex}`} className={selectedTask === t.taskId ? 'selected' : ''}>
              <td className="mono">
                <button className="link" onClick={() => onSelect(t.taskId)}>
                  {t.taskId}
                  {t.mapIndex >= 0 ? `[${t.mapIndex}]` : ''}
                </button>
              </td>
              <td>
                <Badge status={t.state} />
              </td>
              <td className="num">{t.tryNumber}</td>
              <td>{formatTime(ms(t.startedAt))}</td>
              <td className="num">{t.durationMs !== null ? formatDuration(t.durationMs / 1000) : '—'}</td>
              <td className="error-text">{t.error ?? ''}</td>
              <td>
                <div className="actions-inline">
                <button onClick={() => onSelect(t.taskId)}>Log</button>
                <button onClick={() => onAction(`Cleared ${t.taskId}`, `${base}/${enc(t.taskId)}/clear`, { downstream: true })}>Clear</button>
                <button onClick={() => onAction(`Marked ${t.taskId} success`, `${base}/${enc(t.taskId)}/mark`, { state: 'success' })}>Mark success</button>
                <button onClick={() => onAction(`Marked ${t.taskId} failed`, `${base}/${enc(t.taskId)}/mark`, { state: 'failed' })}>Mark failed</button>
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager page={page} label="tasks" />
    </>
  );
}
