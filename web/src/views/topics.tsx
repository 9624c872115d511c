/** Topics: the list, one topic's partitions and config, a live tail of its records, producing a test message. */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api, ApiError, enc } from '../api.ts';
import { Badge, Empty, ErrorBox, KeyValues, LiveDot, Loading, Pager, Panel, usePaged } from '../components/ui.tsx';
import { useApi, useEvents } from '../hooks.ts';
import { formatBytes, formatConfigValue, formatCount, formatDuration, formatTime, truncate } from '../lib/format.ts';
import { Link } from '../router.tsx';
import type { JsonRecord, TopicDetail as TopicDetailData, TopicSummary } from '../types.ts';

export function Topics() {
  const [internal, setInternal] = useState(false);
  const [filter, setFilter] = useState('');
  const list = useApi<{ topics: TopicSummary[] }>(`/api/topics${internal ? '?internal=true' : ''}`, { refreshMs: 5000 });
  const shown = useMemo(
    () => (list.data?.topics ?? []).filter((t) => t.name.toLowerCase().includes(filter.toLowerCase())).sort((a, b) => a.name.localeCompare(b.name)),
    [list.data, filter],
  );
  const page = usePaged(shown, 20);
  return (
    <div className="view" data-testid="topics">
      <div className="view-title">
        <h1>Topics</h1>
      </div>
      <div className="toolbar">
        <input placeholder="Filter by name" value={filter} onChange={(e) => { setFilter(e.target.value); page.setPage(0); }} aria-label="filter topics" />
        <label>
          <input type="checkbox" checked={internal} onChange={(e) => setInternal(e.target.checked)} /> internal topics
        </label>
      </div>
      <ErrorBox error={list.error} title="Topics" onRetry={list.reload} />
      {!list.data && !list.error && <Loading what="topics" />}
      {list.data && shown.length === 0 && <Empty>{filter ? `No topic matches “${filter}”.` : 'No topics yet: create one with tributary topics create <name>.'}</Empty>}
      {shown.length > 0 && (
        <>
          <table data-testid="topic-list">
            <thead>
              <tr>
                <th>name</th>
                <th className="num">partitions</th>
                <th className="num">records</th>
                <th className="num">size</th>
                <th>retention</th>
                <th>cleanup</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((t) => (
                <tr key={t.name}>
                  <td>
                    <Link to={`/topics/${enc(t.name)}`}>{t.name}</Link> {t.internal && <Badge status="internal" />}
                  </td>
                  <td className="num">{t.partitions}</td>
                  <td className="num">{formatCount(t.records)}</td>
                  <td className="num">{formatBytes(t.sizeBytes)}</td>
                  <td>{t.config['retentionMs'] === null ? 'forever' : formatDuration(Number(t.config['retentionMs']) / 1000)}</td>
                  <td>{String(t.config['cleanupPolicy'] ?? '')}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} label="topics" />
        </>
      )}
    </div>
  );
}

export function TopicDetail({ name }: { name: string }) {
  const topic = useApi<TopicDetailData>(`/api/topics/${enc(name)}`, { refreshMs: 6000, live: 1000 });
  const parts = usePaged(topic.data?.partitions ?? [], 12);
  return (
    <div className="view" data-testid="topic-detail">
      <div className="view-title">
        <h1>
          <Link to="/topics">Topics</Link> / {name}
        </h1>
      </div>
      <ErrorBox error={topic.error} title={`Topic ${name}`} onRetry={topic.reload} />
      {!topic.data && !topic.error && <Loading what="the topic" />}
      {topic.data && (
        <div className="grid2">
          <Panel title={`Partitions (${topic.data.partitionCount})`}>
            <table data-testid="partitions">
              <thead>
                <tr>
                  <th className="num">partition</th>
                  <th className="num">log start</th>
                  <th className="num">high watermark</th>
                  <th className="num">log end</th>
                  <th className="num">records</th>
                  <th className="num">size</th>
                  <th className="num">segments</th>
                </tr>
              </thead>
              <tbody>
                {parts.items.map((p) => (
                  <tr key={p.partition}>
                    <td className="num">{p.partition}</td>
                    <td className="num">{formatCount(p.logStartOffset)}</td>
                    <td className="num">{formatCount(p.highWatermark)}</td>
                    <td className="num">{formatCount(p.logEndOffset)}</td>
                    <td className="num">{formatCount(p.highWatermark - p.logStartOffset)}</td>
                    <td className="num">{formatBytes(p.sizeBytes)}</td>
                    <td className="num">{p.segments}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Pager page={parts} label="partitions" />
            <p className="muted">
              {formatCount(topic.data.records)} records · {formatBytes(topic.data.sizeBytes)}
            </p>
          </Panel>
          <Panel title="Configuration">
            <KeyValues items={Object.entries(topic.data.config).map(([k, v]) => [k, <span title={String(v)}>{formatConfigValue(k, v)}</span>])} />
          </Panel>
        </div>
      )}
      <Produce topic={name} partitions={topic.data?.partitionCount ?? 0} onProduced={topic.reload} />
      <Tail topic={name} partitions={topic.data?.partitionCount ?? 0} />
    </div>
  );
}

function Produce({ topic, partitions, onProduced }: { topic: string; partitions: number; onProduced: () => void }) {
  const [key, setKey] = useState('');
  const [value, setValue] = useState('{"hello":"tributary"}');
  const [headers, setHeaders] = useState('source=web-ui');
  const [partition, setPartition] = useState('');
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setResult(null);
    const hs: Array<{ key: string; value: string }> = [];
    for (const line of headers.split(/[\n,]/).map((l) => l.trim()).filter(Boolean)) {
      const eq = line.indexOf('=');
      if (eq <= 0) {
        setError(new Error(`header “${line}” is not name=value`));
        return;
      }
      hs.push({ key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
    }
    const record: Record<string, unknown> = { value, headers: hs };
    if (key !== '') record['key'] = key;
    if (partition !== '') record['partition'] = Number(partition);
    setBusy(true);
    try {
      const r = await api<{ offsets: Array<{ partition: number; offset: number }> }>(`/api/topics/${enc(topic)}/records`, { body: { records: [record] } });
      const o = r.offsets[0]!;
      setResult(`Written to partition ${o.partition} at offset ${o.offset}.`);
      onProduced();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Panel title="Produce a test message">
      <form className="form" onSubmit={submit} data-testid="produce">
        <label>
          key <input value={key} onChange={(e) => setKey(e.target.value)} placeholder="(none)" name="key" />
        </label>
        <label>
          partition{' '}
          <select value={partition} onChange={(e) => setPartition(e.target.value)} name="partition">
            <option value="">by key (murmur2)</option>
            {Array.from({ length: partitions }, (_, i) => (
              <option key={i} value={i}>
                {i}
              </option>
            ))}
          </select>
        </label>
        <label className="wide">
          headers <input value={headers} onChange={(e) => setHeaders(e.target.value)} placeholder="name=value, name2=value2" name="headers" />
        </label>
        <label className="wide">
          value <textarea value={value} onChange={(e) => setValue(e.target.value)} rows={3} name="value" />
        </label>
        <div>
          <button type="submit" disabled={busy}>
            {busy ? 'Sending…' : 'Send'}
          </button>{' '}
          {result && <span className="ok-text" data-testid="produce-result">{result}</span>}
        </div>
      </form>
      <ErrorBox error={error} title="Produce" />
    </Panel>
  );
}

const TAIL_KEEP = 500;

function Tail({ topic, partitions }: { topic: string; partitions: number }) {
  const [records, setRecords] = useState<JsonRecord[]>([]);
  const [paused, setPaused] = useState(false);
  const [partition, setPartition] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [open, setOpen] = useState<number | null>(null);
  const url = paused ? null : `/api/tail/${enc(topic)}?last=10${partition !== '' ? `&partition=${partition}` : ''}`;
  const state = useEvents(url, {
    ready: () => setError(undefined),
    records: (d) => setRecords((cur) => [...(d as JsonRecord[]).reverse(), ...cur].slice(0, TAIL_KEEP)),
    'tail-error': (d) => setError(new Error((d as { error: { message: string } }).error.message)),
  });
  // EventSource does not expose an error answer's body: ask once more to show its words.
  useEffect(() => {
    if (state !== 'closed' || url === null) return;
    const ctl = new AbortController();
    fetch(url, { signal: ctl.signal }).then(
      async (res) => {
        if (res.ok) {
          ctl.abort();
          setError(new Error('the server closed the live tail; resume to reconnect'));
          return;
        }
        const body = (await res.json().catch(() => null)) as { error?: { message?: string; code?: string } } | null;
        setError(new ApiError(body?.error?.code ?? `HTTP_${res.status}`, body?.error?.message ?? `the live tail failed with HTTP ${res.status}`, res.status));
      },
      () => undefined,
    );
    return () => ctl.abort();
  }, [state, url]);
  const [find, setFind] = useState('');
  const shown = useMemo(() => {
    const f = find.trim().toLowerCase();
    if (!f) return records;
    return records.filter((r) => [r.key, r.value, ...r.headers.map((h) => `${h.key}=${h.value}`)].some((x) => x?.toLowerCase().includes(f)));
  }, [records, find]);
  const page = usePaged(shown, 25);
  return (
    <Panel
      title="Live tail"
      actions={
        <>
          <LiveDot state={paused ? 'closed' : state} />
          <select value={partition} onChange={(e) => { setPartition(e.target.value); setRecords([]); }} aria-label="tail partition">
            <option value="">all partitions</option>
            {Array.from({ length: partitions }, (_, i) => (
              <option key={i} value={i}>
                partition {i}
              </option>
            ))}
          </select>
          <input placeholder="find in key, value, headers" value={find} onChange={(e) => { setFind(e.target.value); page.setPage(0); }} aria-label="find in tail" />
          <button onClick={() => setPaused((p) => !p)}>{paused ? 'Resume' : 'Pause'}</button>
          <button onClick={() => setRecords([])}>Clear</button>
        </>
      }
    >
      <ErrorBox error={error} title="Live tail" />
      {!paused && state === 'reconnecting' && <div className="error">The live tail lost its connection to the server and is reconnecting.</div>}
      {shown.length === 0 ? (
        <Empty>{records.length === 0 ? `Waiting for records on ${topic}…` : `None of the last ${records.length} records contains “${find}”.`}</Empty>
      ) : (
        <>
          <table data-testid="tail">
            <thead>
              <tr>
                <th className="num">partition</th>
                <th className="num">offset</th>
                <th>time</th>
                <th>key</th>
                <th>headers</th>
                <th>value</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((r) => {
                const id = r.partition * 1e12 + r.offset;
                return (
                  <tr key={`${r.partition}-${r.offset}`} onClick={() => setOpen(open === id ? null : id)} className="clickable">
                    <td className="num">{r.partition}</td>
                    <td className="num">{r.offset}</td>
                    <td>{formatTime(r.timestamp)}</td>
                    <td className="mono">{r.key ?? <span className="muted">null</span>}</td>
                    <td className="mono">{r.headers.map((h) => `${h.key}=${h.value ?? 'null'}`).join(', ')}</td>
                    <td className="mono value">{open === id ? <pre>{pretty(r.value)}</pre> : truncate(r.value, 120) || <span className="muted">null</span>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <Pager page={page} label={find ? `matching records (newest first, of the last ${records.length})` : 'records (newest first)'} />
        </>
      )}
    </Panel>
  );
}

function pretty(v: string | null): string {
  if (v === null) return 'null';
  try {
    return JSON.stringify(JSON.parse(v), null, 2);
  } catch {
    return v;
  }
}
