/** Lake: tables by zone, their schema, partitions and files, and snapshots for time travel. */
import { useState } from 'react';
import { enc } from '../api.ts';
import { Badge, Empty, ErrorBox, Loading, Pager, Panel, usePaged } from '../components/ui.tsx';
import { useApi } from '../hooks.ts';
import { formatBytes, formatCount, formatTime } from '../lib/format.ts';
import { Link, navigate } from '../router.tsx';
import { SampleRows } from './sql.tsx';

const ZONES = ['raw', 'clean', 'curated'] as const;

interface Snapshot {
  id: number;
  time: number;
  kind: string;
  table: string | null;
  summary: { addedFiles: number; removedFiles: number; addedRows: number; removedRows: number; writer?: string; message?: string };
}
interface Column {
  id: number;
  name: string;
  type: string;
  nullable: boolean;
}
interface TableInfo {
  zone: string;
  name: string;
  fullName: string;
  path: string;
  schema: { version: number; columns: Column[] };
  partitionBy: Array<{ name: string; transform: string; source?: string }>;
  createdAt: number;
  files: number;
  rows: number;
  bytes: number;
}
interface PartitionInfo {
  partition: Record<string, string>;
  files: number;
  rows: number;
  bytes: number;
}
interface DataFile {
  id: number;
  key: string;
  rows: number;
  bytes: number;
  partition: Record<string, string>;
  snapshotId: number;
}
interface SinkStatus {
  name: string;
  table: string;
  state: string;
  committedRecords: number;
  deadLettered: number;
  commits: number;
  bufferedRecords: number;
  lastError: string | null;
}

const partText = (p: Record<string, string>) => Object.entries(p).map(([k, v]) => `${k}=${v}`).join('/') || '(unpartitioned)';

/** Snapshot picker for time travel: "latest" or one of the recent snapshots (paged backwards). */
function SnapshotPicker({ value, onChange, table }: { value: number | null; onChange: (id: number | null) => void; table?: string }) {
  const [before, setBefore] = useState<number | null>(null);
  const list = useApi<{ snapshots: Snapshot[] }>(`/api/lake/snapshots?limit=50${table ? `&table=${enc(table)}` : ''}${before ? `&before=${before}` : ''}`);
  const snaps = list.data?.snapshots ?? [];
  return (
    <span className="actions-inline">
      <label>
        as of{' '}
        <select value={value ?? ''} onChange={(e) => onChange(e.target.value === '' ? null : Number(e.target.value))} aria-label="snapshot">
          <option value="">latest</option>
          {value !== null && !snaps.some((s) => s.id === value) && <option value={value}>snapshot {value}</option>}
          {snaps.map((s) => (
            <option key={s.id} value={s.id}>
              snapshot {s.id} · {formatTime(s.time)} · {s.kind}
            </option>
          ))}
        </select>
      </label>
      {snaps.length === 50 && <button onClick={() => setBefore(snaps[snaps.length - 1]!.id)}>older snapshots</button>}
      {before !== null && <button onClick={() => setBefore(null)}>newest snapshots</button>}
      <ErrorBox error={list.error} title="Snapshots" />
    </span>
  );
}

export function Lake() {
  const [zone, setZone] = useState<string>('');
  const [snapshot, setSnapshot] = useState<number | null>(null);
  const q = [zone ? `zone=${zone}` : '', snapshot !== null ? `snapshot=${snapshot}` : ''].filter(Boolean).join('&');
  const tables = useApi<{ snapshot: Snapshot; tables: TableInfo[] }>(`/api/lake/tables${q ? `?${q}` : ''}`, { refreshMs: snapshot === null ? 5000 : 0 });
  const sinks = useApi<{ sinks: SinkStatus[] }>('/api/lake/sinks', { refreshMs: 5000 });
  const page = usePaged(tables.data?.tables ?? [], 20);
  const sinkPage = usePaged(sinks.data?.sinks ?? [], 10);
  return (
    <div className="view" data-testid="lake">
      <div className="view-title">
        <h1>Lake</h1>
        {tables.data && <span className="muted">snapshot {tables.data.snapshot.id} · {formatTime(tables.data.snapshot.time)}</span>}
      </div>
      <div className="toolbar">
        <div className="tabs" role="tablist">
          {['', ...ZONES].map((z) => (
            <button key={z || 'all'} className={zone === z ? 'active' : ''} onClick={() => setZone(z)} role="tab">
              {z || 'all zones'}
            </button>
          ))}
        </div>
        <SnapshotPicker value={snapshot} onChange={setSnapshot} />
      </div>
      <ErrorBox error={tables.error} title="Tables" onRetry={tables.reload} />
      {!tables.data && !tables.error && <Loading what="tables" />}
      {tables.data && tables.data.tables.length === 0 && <Empty>No tables{zone ? ` in zone ${zone}` : ''} at this snapshot: a lake sink creates them as records arrive.</Empty>}
      {page.items.length > 0 && (
        <>
          <table data-testid="lake-tables">
            <thead>
              <tr>
                <th>table</th>
                <th>zone</th>
                <th>partitioned by</th>
                <th className="num">rows</th>
                <th className="num">files</th>
                <th className="num">size</th>
                <th className="num">schema</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((t) => (
                <tr key={t.fullName}>
                  <td>
                    <Link to={`/lake/${enc(t.fullName)}${snapshot !== null ? `?snapshot=${snapshot}` : ''}`}>{t.fullName}</Link>
                  </td>
                  <td>
                    <Badge status={t.zone} />
                  </td>
                  <td>{t.partitionBy.map((p) => (p.transform === 'identity' ? p.name : `${p.transform}(${p.source ?? p.name}) → ${p.name}`)).join(', ') || '—'}</td>
                  <td className="num">{formatCount(t.rows)}</td>
                  <td className="num">{formatCount(t.files)}</td>
                  <td className="num">{formatBytes(t.bytes)}</td>
                  <td className="num">v{t.schema.version}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} label="tables" />
        </>
      )}
      <Panel title="Lake sinks (topics → tables)">
        <ErrorBox error={sinks.error} title="Sinks" onRetry={sinks.reload} />
        {sinks.data && sinks.data.sinks.length === 0 && <Empty>No lake sinks configured.</Empty>}
        {sinkPage.items.length > 0 && (
          <>
            <table data-testid="lake-sinks">
              <thead>
                <tr>
                  <th>sink</th>
                  <th>table</th>
                  <th>state</th>
                  <th className="num">records committed</th>
                  <th className="num">commits</th>
                  <th className="num">buffered</th>
                  <th className="num">dead letters</th>
                  <th>last error</th>
                </tr>
              </thead>
              <tbody>
                {sinkPage.items.map((s) => (
                  <tr key={s.name}>
                    <td>{s.name}</td>
                    <td>
                      <Link to={`/lake/${enc(s.table)}`}>{s.table}</Link>
                    </td>
                    <td>
                      <Badge status={s.state} />
                    </td>
                    <td className="num">{formatCount(s.committedRecords)}</td>
                    <td className="num">{formatCount(s.commits)}</td>
                    <td className="num">{formatCount(s.bufferedRecords)}</td>
                    <td className="num">{formatCount(s.deadLettered)}</td>
                    <td className="error-text">{s.lastError ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Pager page={sinkPage} label="sinks" />
          </>
        )}
      </Panel>
    </div>
  );
}

export function LakeTable({ table, snapshot: initial }: { table: string; snapshot: number | null }) {
  const [snapshot, setSnapshotState] = useState<number | null>(initial);
  const setSnapshot = (id: number | null) => {
    setSnapshotState(id);
    navigate(`/lake/${enc(table)}${id !== null ? `?snapshot=${id}` : ''}`);
  };
  const [partition, setPartition] = useState<string | null>(null);
  const asOf = snapshot !== null ? `snapshot=${snapshot}` : '';
  const info = useApi<TableInfo>(`/api/lake/tables/${enc(table)}${asOf ? `?${asOf}` : ''}`);
  const partitions = useApi<{ partitions: PartitionInfo[] }>(`/api/lake/tables/${enc(table)}/partitions${asOf ? `?${asOf}` : ''}`);
  const files = useApi<{ files: DataFile[] }>(
    `/api/lake/tables/${enc(table)}/files?${[asOf, partition ? `partition=${enc(partition)}` : ''].filter(Boolean).join('&')}`,
  );
  const history = useApi<{ snapshots: Snapshot[] }>(`/api/lake/snapshots?table=${enc(table)}&limit=200`);
  const partPage = usePaged(partitions.data?.partitions ?? [], 15);
  const filePage = usePaged(files.data?.files ?? [], 15);
  const histPage = usePaged(history.data?.snapshots ?? [], 10);
  return (
    <div className="view" data-testid="lake-table">
      <div className="view-title">
        <h1>
          <Link to="/lake">Lake</Link> / {table}
        </h1>
        <SnapshotPicker value={snapshot} onChange={setSnapshot} table={table} />
      </div>
      <ErrorBox error={info.error} title={`Table ${table}`} onRetry={info.reload} />
      {info.data && (
        <p className="muted">
          {formatCount(info.data.rows)} rows · {formatCount(info.data.files)} files · {formatBytes(info.data.bytes)} · {info.data.path}
          {snapshot !== null && <> · as of snapshot {snapshot}</>}
        </p>
      )}
      <div className="grid2">
        <Panel title={`Schema${info.data ? ` (version ${info.data.schema.version})` : ''}`}>
          {info.data && (
            <table data-testid="schema">
              <thead>
                <tr>
                  <th>column</th>
                  <th>type</th>
                  <th>nullable</th>
                </tr>
              </thead>
              <tbody>
                {info.data.schema.columns.map((c) => (
                  <tr key={c.id}>
                    <td className="mono">{c.name}</td>
                    <td className="mono">{c.type}</td>
                    <td>{c.nullable ? 'yes' : 'no'}</td>
                  </tr>
                ))}
                {info.data.partitionBy.map((p) => (
                  <tr key={`p-${p.name}`}>
                    <td className="mono">{p.name}</td>
                    <td className="mono">partition ({p.transform}{p.source ? ` of ${p.source}` : ''})</td>
                    <td>no</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Panel>
        <Panel title="Partitions">
          <ErrorBox error={partitions.error} title="Partitions" onRetry={partitions.reload} />
          {partitions.data && partitions.data.partitions.length === 0 && <Empty>No data at this snapshot.</Empty>}
          {partPage.items.length > 0 && (
            <>
              <table data-testid="lake-partitions">
                <thead>
                  <tr>
                    <th>partition</th>
                    <th className="num">files</th>
                    <th className="num">rows</th>
                    <th className="num">size</th>
                  </tr>
                </thead>
                <tbody>
                  {partPage.items.map((p) => {
                    const text = partText(p.partition);
                    return (
                      <tr key={text} className={`clickable${partition === text ? ' selected' : ''}`} onClick={() => setPartition(partition === text ? null : Object.keys(p.partition).length ? text : null)}>
                        <td className="mono">{text}</td>
                        <td className="num">{formatCount(p.files)}</td>
                        <td className="num">{formatCount(p.rows)}</td>
                        <td className="num">{formatBytes(p.bytes)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              <Pager page={partPage} label="partitions" />
            </>
          )}
        </Panel>
      </div>
      <Panel title={`Files${partition ? ` in ${partition}` : ''}`} actions={partition ? <button onClick={() => setPartition(null)}>all partitions</button> : undefined}>
        <ErrorBox error={files.error} title="Files" onRetry={files.reload} />
        {files.data && files.data.files.length === 0 && <Empty>No files.</Empty>}
        {filePage.items.length > 0 && (
          <>
            <table data-testid="lake-files">
              <thead>
                <tr>
                  <th>file</th>
                  <th>partition</th>
                  <th className="num">rows</th>
                  <th className="num">size</th>
                  <th className="num">added in snapshot</th>
                </tr>
              </thead>
              <tbody>
                {filePage.items.map((f) => (
                  <tr key={f.id}>
                    <td className="mono">{f.key}</td>
                    <td className="mono">{partText(f.partition)}</td>
                    <td className="num">{formatCount(f.rows)}</td>
                    <td className="num">{formatBytes(f.bytes)}</td>
                    <td className="num">{f.snapshotId}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Pager page={filePage} label="files" />
          </>
        )}
      </Panel>
      <SampleRows table={table} snapshot={snapshot} />
      <Panel title="Snapshots (time travel)">
        <ErrorBox error={history.error} title="Snapshots" onRetry={history.reload} />
        {histPage.items.length > 0 && (
          <>
            <table data-testid="lake-snapshots">
              <thead>
                <tr>
                  <th className="num">snapshot</th>
                  <th>time</th>
                  <th>kind</th>
                  <th className="num">+files</th>
                  <th className="num">−files</th>
                  <th className="num">+rows</th>
                  <th className="num">−rows</th>
                  <th>by</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {histPage.items.map((s) => (
                  <tr key={s.id} className={snapshot === s.id ? 'selected' : ''}>
                    <td className="num">{s.id}</td>
                    <td>{formatTime(s.time)}</td>
                    <td>{s.kind}</td>
                    <td className="num">{s.summary.addedFiles}</td>
                    <td className="num">{s.summary.removedFiles}</td>
                    <td className="num">{formatCount(s.summary.addedRows)}</td>
                    <td className="num">{formatCount(s.summary.removedRows)}</td>
                    <td className="muted">{[s.summary.writer, s.summary.message].filter(Boolean).join(': ')}</td>
                    <td>
                      <button onClick={() => setSnapshot(s.id)}>view as of</button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Pager page={histPage} label="snapshots" />
          </>
        )}
      </Panel>
    </div>
  );
}
