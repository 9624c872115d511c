/** Consumer groups: the list with lag status, one group's members, assignment and lag per partition. */
import { useMemo } from 'react';
import { ApiError, enc } from '../api.ts';
import { Chart } from '../components/chart.tsx';
import { Badge, Empty, ErrorBox, Loading, Pager, Panel, usePaged } from '../components/ui.tsx';
import { useApi } from '../hooks.ts';
import { formatCount, formatDuration } from '../lib/format.ts';
import { Link } from '../router.tsx';
import type { GroupDescription, GroupLagDetail, GroupLagSummary, GroupSummary } from '../types.ts';

export function Groups() {
  const list = useApi<{ groups: GroupSummary[] }>('/api/groups', { refreshMs: 10000, live: 2000 });
  const lag = useApi<{ groups: GroupLagSummary[]; lagWindowSamples: number; lagIntervalMs: number }>('/api/monitor/groups', { refreshMs: 10000, live: 1000 });
  const rows = useMemo(() => {
    const byId = new Map((lag.data?.groups ?? []).map((g) => [g.groupId, g]));
    return (list.data?.groups ?? []).map((g) => ({ g, lag: byId.get(g.groupId) })).sort((a, b) => a.g.groupId.localeCompare(b.g.groupId));
  }, [list.data, lag.data]);
  const page = usePaged(rows, 20);
  return (
    <div className="view" data-testid="groups">
      <div className="view-title">
        <h1>Consumer groups</h1>
      </div>
      <ErrorBox error={list.error} title="Groups" onRetry={list.reload} />
      <ErrorBox error={lag.error} title="Lag" onRetry={lag.reload} />
      {!list.data && !list.error && <Loading what="groups" />}
      {list.data && rows.length === 0 && <Empty>No consumer groups yet: consume with a group (tributary consume &lt;topic&gt; --group &lt;name&gt;) to see one here.</Empty>}
      {rows.length > 0 && (
        <>
          <table data-testid="group-list">
            <thead>
              <tr>
                <th>group</th>
                <th>state</th>
                <th>protocol</th>
                <th className="num">members</th>
                <th>lag status</th>
                <th className="num">lag (records)</th>
                <th className="num">lag (time)</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map(({ g, lag: l }) => (
                <tr key={g.groupId}>
                  <td>
                    <Link to={`/groups/${enc(g.groupId)}`}>{g.groupId}</Link>
                  </td>
                  <td>
                    <Badge status={g.state} />
                  </td>
                  <td>{g.protocolType}</td>
                  <td className="num">{g.members}</td>
                  <td>{l ? <Badge status={l.status} title={l.reason} /> : <span className="muted">not measured yet</span>}</td>
                  <td className="num">{l ? formatCount(l.totalLag) : '—'}</td>
                  <td className="num">{l ? formatDuration(l.maxLagSeconds) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} label="groups" />
          {lag.data && (
            <p className="muted">
              Lag status judges the trend over the last {lag.data.lagWindowSamples} samples, one every {lag.data.lagIntervalMs / 1000} s (as Burrow does): STALLED when the
              committed offset does not move while records wait, WARN when lag grows in every interval.
            </p>
          )}
        </>
      )}
    </div>
  );
}

export function GroupDetail({ id }: { id: string }) {
  const group = useApi<GroupDescription>(`/api/groups/${enc(id)}`, { refreshMs: 6000, live: 2000 });
  // Ask for the lag detail only once the collector knows the group (no 404 noise before).
  const monitored = useApi<{ groups: GroupLagSummary[]; lagIntervalMs: number }>('/api/monitor/groups', { refreshMs: 6000, live: 1000 });
  const known = monitored.data?.groups.some((g) => g.groupId === id) ?? false;
  const lag = useApi<GroupLagDetail>(known ? `/api/monitor/groups/${enc(id)}` : null, { refreshMs: 6000, live: 1000 });
  const members = usePaged(group.data?.memberDetails ?? [], 10);
  const partitions = usePaged(lag.data?.partitions ?? [], 20);
  const owner = useMemo(() => {
    const m = new Map<string, string>();
    for (const mem of group.data?.memberDetails ?? []) for (const a of mem.assignment) m.set(`${a.topic}/${a.partition}`, mem.clientId);
    return m;
  }, [group.data]);
  const chart = useMemo(() => {
    const h = lag.data?.history;
    if (!h) return null;
    const keys = Object.keys(h.partitions).sort();
    return { x: h.times, series: keys.slice(0, 24).map((k) => ({ label: k, values: h.partitions[k]! })) };
  }, [lag.data]);
  const lagNotYet = (lag.error instanceof ApiError && lag.error.code === 'GROUP_NOT_MONITORED') || (monitored.data !== undefined && !known);

  return (
    <div className="view" data-testid="group-detail">
      <div className="view-title">
        <h1>
          <Link to="/groups">Consumer groups</Link> / {id}
        </h1>
        {lag.data && <Badge status={lag.data.status} title={lag.data.reason} />}
      </div>
      <ErrorBox error={group.error} title={`Group ${id}`} onRetry={group.reload} />
      <ErrorBox error={monitored.error} title="Lag" onRetry={monitored.reload} />
      {lagNotYet ? (
        <div className="notice">
          No lag data for {id} yet: the group has no committed offsets, or the collector (every {(monitored.data?.lagIntervalMs ?? 5000) / 1000} s) has not seen it yet.
        </div>
      ) : (
        <ErrorBox error={lag.error} title="Lag" onRetry={lag.reload} />
      )}
      {group.data && (
        <p className="muted">
          state <Badge status={group.data.state} /> · protocol {group.data.protocol || '—'} · generation {group.data.generationId} · {group.data.members} member(s) · total lag{' '}
          {formatCount(group.data.totalLag)}
        </p>
      )}
      {lag.data && <p data-testid="lag-reason">{lag.data.status}: {lag.data.reason}</p>}
      <Panel title="Lag per partition (records)">
        {chart && chart.x.length > 0 ? <Chart x={chart.x} series={chart.series} testId="chart-group-lag" /> : <Empty>No lag history yet.</Empty>}
      </Panel>
      <div className="grid2">
        <Panel title="Members and assignment">
          {!group.data && !group.error && <Loading what="members" />}
          {group.data && group.data.memberDetails.length === 0 && <Empty>No members: the group only has committed offsets.</Empty>}
          {members.items.length > 0 && (
            <>
              <table data-testid="members">
                <thead>
                  <tr>
                    <th>client</th>
                    <th>host</th>
                    <th>assigned partitions</th>
                  </tr>
                </thead>
                <tbody>
                  {members.items.map((m) => (
                    <tr key={m.memberId}>
                      <td title={m.memberId}>{m.clientId}</td>
                      <td>{m.clientHost}</td>
                      <td className="mono">{m.assignment.map((a) => `${a.topic}/${a.partition}`).join(', ') || '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager page={members} label="members" />
            </>
          )}
        </Panel>
        <Panel title="Partitions">
          {partitions.items.length === 0 && group.data && (
            <table>
              <tbody>
                {group.data.offsets.map((o) => (
                  <tr key={`${o.topic}/${o.partition}`}>
                    <td>{o.topic}/{o.partition}</td>
                    <td className="num">{o.committedOffset ?? '—'}</td>
                    <td className="num">{o.lag ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {partitions.items.length > 0 && (
            <>
              <table data-testid="group-partitions">
                <thead>
                  <tr>
                    <th>partition</th>
                    <th>owner</th>
                    <th className="num">committed</th>
                    <th className="num">high watermark</th>
                    <th className="num">lag</th>
                    <th className="num">lag (time)</th>
                    <th>status</th>
                  </tr>
                </thead>
                <tbody>
                  {partitions.items.map((p) => (
                    <tr key={`${p.topic}/${p.partition}`}>
                      <td>
                        <Link to={`/topics/${enc(p.topic)}`}>{p.topic}</Link>/{p.partition}
                      </td>
                      <td>{owner.get(`${p.topic}/${p.partition}`) ?? <span className="muted">unassigned</span>}</td>
                      <td className="num">{p.committedOffset === null ? '—' : formatCount(p.committedOffset)}</td>
                      <td className="num">{formatCount(p.highWatermark)}</td>
                      <td className="num">{p.lag === null ? '—' : formatCount(p.lag)}</td>
                      <td className="num">
                        {p.lagSeconds === null ? '—' : `${p.lagSecondsLowerBound ? '≥ ' : ''}${formatDuration(p.lagSeconds)}`}
                      </td>
                      <td>
                        <Badge status={p.status} title={p.reason} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager page={partitions} label="partitions" />
            </>
          )}
        </Panel>
      </div>
    </div>
  );
}
