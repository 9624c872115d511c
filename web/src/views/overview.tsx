/** Overview: health of each part, throughput and lag over time, consumer-group status, recent failures. */
import { useEffect, useMemo, useState } from 'react';
import { api } from '../api.ts';
import { Chart } from '../components/chart.tsx';
import { Badge, Empty, ErrorBox, LiveDot, Loading, Pager, Panel, usePaged } from '../components/ui.tsx';
import { useApi, useEvents } from '../hooks.ts';
import { formatAgo, formatBytes, formatCount, formatDuration, formatRate, formatTime } from '../lib/format.ts';
import { appendPoint, emptyRolling, topSeries, type Rolling } from '../lib/series.ts';
import { Link } from '../router.tsx';
import type { FailureEvent, GroupLagDetail, GroupLagSummary, Health, Overview as OverviewData, Ready, ThroughputSeries, Tick } from '../types.ts';

const CAPACITY = 900;
const TOTALS = ['append_records', 'read_records', 'append_bytes', 'read_bytes', 'kafka_received_bytes', 'kafka_sent_bytes', 'connect_records', 'streams_records', 'lake_sink_records'];

function fromSeries(s: ThroughputSeries): { topics: Rolling; totals: Rolling } {
  const topics: Rolling = { times: [...s.times], series: {} };
  for (const [t, f] of Object.entries(s.topics)) if (!t.startsWith('__') && f['append_records']) topics.series[t] = [...f['append_records']];
  const totals: Rolling = { times: [...s.times], series: {} };
  for (const k of TOTALS) totals.series[k] = s.totals[k] ? [...s.totals[k]] : s.times.map(() => 0);
  return { topics, totals };
}

export function Overview() {
  const ready = useApi<Ready>('/ready', { refreshMs: 5000, accept: [503] });
  const health = useApi<Health>('/health', { refreshMs: 15000 });
  const overview = useApi<OverviewData>('/api/monitor/overview');
  const [topics, setTopics] = useState<Rolling>(emptyRolling());
  const [totals, setTotals] = useState<Rolling>(emptyRolling());
  const [lag, setLag] = useState<Rolling>(emptyRolling());
  const [groups, setGroups] = useState<GroupLagSummary[]>([]);
  const [failures, setFailures] = useState<FailureEvent[]>([]);
  const [olderFailures, setOlderFailures] = useState<{ next: number | null; error?: unknown }>({ next: null });
  const [historyError, setHistoryError] = useState<unknown>(undefined);

  // History first (so the charts are not empty on open), then live ticks over SSE.
  useEffect(() => {
    let stop = false;
    (async () => {
      try {
        const s = await api<ThroughputSeries>('/api/monitor/throughput');
        if (stop) return;
        const r = fromSeries(s);
        setTopics((cur) => (cur.times.length ? cur : r.topics));
        setTotals((cur) => (cur.times.length ? cur : r.totals));
        const g = await api<{ groups: GroupLagSummary[] }>('/api/monitor/groups');
        const details = await Promise.all(g.groups.slice(0, 8).map((x) => api<GroupLagDetail>(`/api/monitor/groups/${encodeURIComponent(x.groupId)}`)));
        if (stop) return;
        const times = [...new Set(details.flatMap((d) => d.history?.times ?? []))].sort((a, b) => a - b);
        const series: Rolling['series'] = {};
        for (const d of details) {
          const byTime = new Map((d.history?.times ?? []).map((t, i) => [t, d.history!.totalLag[i]!]));
          series[d.groupId] = times.map((t) => byTime.get(t) ?? null);
        }
        setLag((cur) => (cur.times.length ? cur : { times, series }));
      } catch (err) {
        if (!stop) setHistoryError(err);
      }
    })();
    return () => {
      stop = true;
    };
  }, []);

  useEffect(() => {
    if (!overview.data) return;
    setGroups(overview.data.groups);
    setFailures((cur) => (cur.length ? cur : overview.data!.failures));
    setOlderFailures({ next: overview.data.failures.length >= 10 ? overview.data.failures[overview.data.failures.length - 1]!.id : null });
  }, [overview.data]);

  const live = useEvents('/api/events', {
    tick: (d) => {
      const t = d as Tick;
      setGroups(t.groups);
      if (t.groups.length) {
        setLag((cur) => appendPoint(cur, t.time, Object.fromEntries(t.groups.slice(0, 8).map((g) => [g.groupId, g.totalLag])), CAPACITY));
      }
      const p = t.throughput;
      if (!p) return;
      setTopics((cur) =>
        appendPoint(cur, p.time, Object.fromEntries(Object.entries(p.topics).filter(([n, f]) => !n.startsWith('__') && f['append_records'] !== undefined).map(([n, f]) => [n, f['append_records']!])), CAPACITY),
      );
      setTotals((cur) => appendPoint(cur, p.time, Object.fromEntries(TOTALS.map((k) => [k, p.totals[k] ?? 0])), CAPACITY));
    },
    failure: (d) => setFailures((cur) => [d as FailureEvent, ...cur.filter((f) => f.id !== (d as FailureEvent).id)]),
  });

  const loadOlder = async () => {
    if (olderFailures.next === null) return;
    try {
      const r = await api<{ events: FailureEvent[]; nextBefore: number | null }>(`/api/monitor/failures?limit=50&before=${olderFailures.next}`);
      setFailures((cur) => [...cur, ...r.events.filter((e) => !cur.some((c) => c.id === e.id))]);
      setOlderFailures({ next: r.nextBefore });
    } catch (err) {
      setOlderFailures((o) => ({ ...o, error: err }));
    }
  };

  const shownTopics = useMemo(() => topSeries(topics.series, 8), [topics]);
  const topicSeries = useMemo(() => shownTopics.map((t) => ({ label: t, values: topics.series[t]! })), [topics, shownTopics]);
  const ioSeries = useMemo(
    () => [
      { label: 'appended', values: totals.series['append_records'] ?? [] },
      { label: 'read (in-process)', values: totals.series['read_records'] ?? [] },
      // Other parts' throughput, once they have moved records.
      ...(totals.series['connect_records']?.some((v) => v) ? [{ label: 'connectors', values: totals.series['connect_records'] }] : []),
      ...(totals.series['streams_records']?.some((v) => v) ? [{ label: 'stream apps', values: totals.series['streams_records'] }] : []),
      ...(totals.series['lake_sink_records']?.some((v) => v) ? [{ label: 'into the lake', values: totals.series['lake_sink_records'] }] : []),
    ],
    [totals],
  );
  const bytesSeries = useMemo(
    () => [
      { label: 'appended', values: totals.series['append_bytes'] ?? [] },
      { label: 'Kafka in', values: totals.series['kafka_received_bytes'] ?? [] },
      { label: 'Kafka out', values: totals.series['kafka_sent_bytes'] ?? [] },
    ],
    [totals],
  );
  const lagSeries = useMemo(() => Object.keys(lag.series).map((g) => ({ label: g, values: lag.series[g]! })), [lag]);
  // A filter asks the server (it keeps the last 500 events) and keeps live events that match.
  const [failureFilter, setFailureFilter] = useState('');
  const [severity, setSeverity] = useState('');
  const filtering = failureFilter.trim() !== '' || severity !== '';
  const filtered = useApi<{ events: FailureEvent[] }>(
    filtering ? `/api/monitor/failures?limit=500${failureFilter.trim() ? `&q=${encodeURIComponent(failureFilter.trim())}` : ''}${severity ? `&severity=${severity}` : ''}` : null,
  );
  const shownFailures = useMemo(() => {
    if (!filtering) return failures;
    const q = failureFilter.trim().toLowerCase();
    const live = failures.filter((f) => (!q || f.message.toLowerCase().includes(q) || f.source.toLowerCase().includes(q)) && (!severity || severity.split(',').includes(f.severity)));
    const byId = new Map([...(filtered.data?.events ?? []), ...live].map((f) => [f.id, f]));
    return [...byId.values()].sort((a, b) => b.id - a.id);
  }, [filtering, failures, failureFilter, severity, filtered.data]);
  const failurePage = usePaged(shownFailures, 10);
  const groupPage = usePaged(groups, 10);
  const now = totals.times.length ? totals.times[totals.times.length - 1]! : null;
  const last = (k: string) => (totals.series[k]?.length ? totals.series[k]![totals.series[k]!.length - 1] : null);
  const totalLag = groups.reduce((a, g) => a + g.totalLag, 0);
  const unhealthy = groups.filter((g) => g.status !== 'OK').length;

  return (
    <div className="view" data-testid="overview">
      <div className="view-title">
        <h1>Overview</h1>
        <LiveDot state={live} />
      </div>
      <ErrorBox error={overview.error} title="Monitor" onRetry={overview.reload} />
      <ErrorBox error={historyError} title="History" />
      <div className="stats">
        <div className="stat">
          <span className="stat-label">Appended</span>
          <span className="stat-value" data-testid="stat-append">{formatRate(last('append_records'))}</span>
          <span className="muted">{formatRate(last('append_bytes'), 'bytes')}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Consumer groups</span>
          <span className="stat-value">{groups.length}</span>
          <span className={unhealthy ? 'warn-text' : 'muted'}>{unhealthy ? `${unhealthy} not OK` : 'all OK'}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Total lag</span>
          <span className="stat-value">{formatCount(totalLag)}</span>
          <span className="muted">records</span>
        </div>
        <div className="stat">
          <span className="stat-label">Server</span>
          <span className="stat-value">{ready.data ? (ready.data.ready ? 'ready' : 'not ready') : '…'}</span>
          <span className="muted">{health.data ? `v${health.data.version ?? '?'} · up ${formatDuration(health.data.uptimeSeconds)}` : ''}</span>
        </div>
      </div>

      <div className="grid2">
        <Panel title="Records appended per second, by topic">
          {topicSeries.length ? <Chart x={topics.times} series={topicSeries} testId="chart-topics" /> : <Empty>No appends yet{now ? '' : ' (the first sample comes within seconds)'}.</Empty>}
        </Panel>
        <Panel title="Records per second: appended and read">
          {totals.times.length ? <Chart x={totals.times} series={ioSeries} testId="chart-io" /> : <Empty>Collecting the first samples…</Empty>}
        </Panel>
        <Panel title="Bytes per second">
          {totals.times.length ? <Chart x={totals.times} series={bytesSeries} format={(v) => formatBytes(v)} testId="chart-bytes" /> : <Empty>Collecting the first samples…</Empty>}
        </Panel>
        <Panel title="Consumer lag (records), by group">
          {lagSeries.length ? <Chart x={lag.times} series={lagSeries} testId="chart-lag" /> : <Empty>No consumer group has committed offsets yet.</Empty>}
        </Panel>
      </div>

      <div className="grid2">
        <Panel title="Health of each part">
          <ErrorBox error={ready.error} title="Readiness" onRetry={ready.reload} />
          {!ready.data && !ready.error && <Loading what="parts" />}
          {ready.data && (
            <table data-testid="parts">
              <thead>
                <tr>
                  <th>part</th>
                  <th>state</th>
                  <th>detail</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(ready.data.parts).map(([name, p]) => (
                  <tr key={name}>
                    <td>{name}</td>
                    <td>
                      <Badge status={p.state} />
                    </td>
                    <td className="muted">{p.detail ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Panel>
        <Panel
          title="Recent failures"
          actions={
            <>
              <input
                placeholder="Filter (group, part, words)"
                value={failureFilter}
                onChange={(e) => {
                  setFailureFilter(e.target.value);
                  failurePage.setPage(0);
                }}
                aria-label="filter failures"
              />
              <select
                value={severity}
                onChange={(e) => {
                  setSeverity(e.target.value);
                  failurePage.setPage(0);
                }}
                aria-label="failure severity"
              >
                <option value="">all severities</option>
                <option value="error,warning">errors and warnings</option>
                <option value="error">errors</option>
              </select>
            </>
          }
        >
          <ErrorBox error={filtered.error} title="Failures" onRetry={filtered.reload} />
          {shownFailures.length === 0 ? (
            <Empty>{filtering ? (filtered.loading ? 'Searching…' : 'No failure matches this filter.') : 'No failures recorded since the server started.'}</Empty>
          ) : (
            <>
              <ul className="failures" data-testid="failures">
                {failurePage.items.map((f) => (
                  <li key={f.id} className={`sev-${f.severity}`}>
                    <span className="muted" title={formatTime(f.time)}>
                      {formatAgo(f.time)}
                    </span>{' '}
                    <Badge status={f.severity} /> {f.message}
                  </li>
                ))}
              </ul>
              <Pager page={failurePage} label="failures" />
            </>
          )}
          {!filtering && olderFailures.next !== null && failurePage.page === failurePage.pages - 1 && (
            <button onClick={loadOlder}>Load older failures</button>
          )}
          <ErrorBox error={olderFailures.error} title="Older failures" />
        </Panel>
      </div>

      <Panel title="Consumer groups">
        {groups.length === 0 ? (
          <Empty>No consumer groups with committed offsets yet.</Empty>
        ) : (
          <>
            <table data-testid="group-status">
              <thead>
                <tr>
                  <th>group</th>
                  <th>status</th>
                  <th>members</th>
                  <th className="num">lag (records)</th>
                  <th className="num">lag (time)</th>
                  <th>why</th>
                </tr>
              </thead>
              <tbody>
                {groupPage.items.map((g) => (
                  <tr key={g.groupId}>
                    <td>
                      <Link to={`/groups/${encodeURIComponent(g.groupId)}`}>{g.groupId}</Link>
                    </td>
                    <td>
                      <Badge status={g.status} />
                    </td>
                    <td>{g.members}</td>
                    <td className="num">{formatCount(g.totalLag)}</td>
                    <td className="num">{formatDuration(g.maxLagSeconds)}</td>
                    <td className="muted">{g.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Pager page={groupPage} label="groups" />
          </>
        )}
      </Panel>
    </div>
  );
}
