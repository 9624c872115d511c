/** Connectors: status of each connector and its tasks, pause / resume / restart, errors and dead-letter counts. */
import { useEffect, useState } from 'react';
import { api, enc } from '../api.ts';
import { Badge, Empty, ErrorBox, KeyValues, Loading, Pager, Panel, usePaged } from '../components/ui.tsx';
import { useApi } from '../hooks.ts';
import { formatCount } from '../lib/format.ts';
import { metricBy } from '../metrics.ts';
import { Link } from '../router.tsx';

interface ConnectorStatus {
  name: string;
  type: string;
  connector: { state: string; workerId: string; trace?: string };
  tasks: Array<{ id: number; state: string; workerId: string; trace?: string }>;
}
interface ConnectorInfo {
  name: string;
  type: string;
  config: Record<string, unknown>;
  tasks: Array<{ connector: string; task: number }>;
  origin: string;
}
type Expanded = Record<string, { status: ConnectorStatus; info: ConnectorInfo }>;

interface Counters {
  records: Record<string, number>;
  errors: Record<string, number>;
  dlq: Record<string, number>;
}

function useCounters(refreshMs: number): { counters: Counters | null; error: unknown } {
  const [counters, setCounters] = useState<Counters | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout>;
    const load = async () => {
      try {
        const [records, errors, dlq] = await Promise.all([
          metricBy('tributary_connect_records_total', 'connector'),
          metricBy('tributary_connect_record_errors_total', 'connector'),
          metricBy('tributary_connect_dead_letter_records_total', 'connector'),
        ]);
        if (!stop) {
          setCounters({ records, errors, dlq });
          setError(undefined);
        }
      } catch (err) {
        if (!stop) setError(err);
      }
      if (!stop) timer = setTimeout(load, refreshMs);
    };
    void load();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [refreshMs]);
  return { counters, error };
}

function deadLetterTopic(info: ConnectorInfo): string | null {
  const errors = info.config['errors'] as { deadLetterTopic?: string | null } | undefined;
  return errors?.deadLetterTopic ?? null;
}

function taskSummary(s: ConnectorStatus): string {
  const running = s.tasks.filter((t) => t.state === 'RUNNING').length;
  return `${running}/${s.tasks.length} running`;
}

/** Pause / resume / restart buttons; the answer or the error is shown in words. */
function Actions({ name, state, onDone }: { name: string; state: string; onDone: () => void }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState<string | null>(null);
  const act = async (label: string, method: string, path: string) => {
    setBusy(label);
    setError(undefined);
    setDone(null);
    try {
      await api(`/api/connectors/${enc(name)}/${path}`, { method });
      setDone(`${label}: done at ${new Date().toLocaleTimeString()}`);
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  return (
    <span className="actions-inline">
      {state === 'PAUSED' || state === 'STOPPED' ? (
        <button disabled={busy !== null} onClick={() => act('resume', 'PUT', 'resume')}>
          Resume
        </button>
      ) : (
        <button disabled={busy !== null} onClick={() => act('pause', 'PUT', 'pause')}>
          Pause
        </button>
      )}{' '}
      <button disabled={busy !== null} onClick={() => act('restart', 'POST', 'restart?includeTasks=true')}>
        Restart
      </button>
      {busy && <span className="muted"> {busy}…</span>}
      {done && !busy && <span className="ok-text"> {done}</span>}
      <ErrorBox error={error} title={`${name}`} />
    </span>
  );
}

export function Connectors() {
  const list = useApi<Expanded>('/api/connectors?expand=status,info', { refreshMs: 6000, live: 1000 });
  const { counters, error: counterError } = useCounters(3000);
  const names = Object.keys(list.data ?? {}).sort();
  const page = usePaged(names, 20);
  return (
    <div className="view" data-testid="connectors">
      <div className="view-title">
        <h1>Connectors</h1>
      </div>
      <ErrorBox error={list.error} title="Connectors" onRetry={list.reload} />
      <ErrorBox error={counterError} title="Connector metrics" />
      {!list.data && !list.error && <Loading what="connectors" />}
      {list.data && names.length === 0 && <Empty>No connectors: declare them in tributary.config.ts (connectors) or POST /api/connectors.</Empty>}
      {names.length > 0 && (
        <>
          <table data-testid="connector-list">
            <thead>
              <tr>
                <th>connector</th>
                <th>type</th>
                <th>state</th>
                <th>tasks</th>
                <th className="num">records</th>
                <th className="num">errors</th>
                <th className="num">dead letters</th>
                <th>actions</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((n) => {
                const { status, info } = list.data![n]!;
                const failed = status.tasks.find((t) => t.trace) ?? (status.connector.trace ? status.connector : null);
                return (
                  <tr key={n}>
                    <td>
                      <Link to={`/connectors/${enc(n)}`}>{n}</Link>
                      <div className="muted">{String(info.config['connector'] ?? '')}</div>
                    </td>
                    <td>{status.type}</td>
                    <td>
                      <Badge status={status.connector.state} />
                      {failed?.trace && <div className="error-text">{failed.trace.split('\n')[0]}</div>}
                    </td>
                    <td>{taskSummary(status)}</td>
                    <td className="num">{formatCount(counters?.records[n] ?? 0)}</td>
                    <td className="num">{formatCount(counters?.errors[n] ?? 0)}</td>
                    <td className="num">
                      {formatCount(counters?.dlq[n] ?? 0)}
                      {deadLetterTopic(info) && (
                        <div>
                          <Link to={`/topics/${enc(deadLetterTopic(info)!)}`}>{deadLetterTopic(info)}</Link>
                        </div>
                      )}
                    </td>
                    <td>
                      <Actions name={n} state={status.connector.state} onDone={list.reload} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <Pager page={page} label="connectors" />
        </>
      )}
    </div>
  );
}

export function ConnectorDetail({ name }: { name: string }) {
  const status = useApi<ConnectorStatus>(`/api/connectors/${enc(name)}/status`, { refreshMs: 4000, live: 1000 });
  const info = useApi<ConnectorInfo>(`/api/connectors/${enc(name)}`);
  const offsets = useApi<unknown>(`/api/connectors/${enc(name)}/offsets`, { refreshMs: 5000 });
  const { counters, error: counterError } = useCounters(3000);
  const [taskError, setTaskError] = useState<unknown>(undefined);
  const tasks = usePaged(status.data?.tasks ?? [], 20);
  const restartTask = async (id: number) => {
    setTaskError(undefined);
    try {
      await api(`/api/connectors/${enc(name)}/tasks/${id}/restart`, { method: 'POST' });
      status.reload();
    } catch (err) {
      setTaskError(err);
    }
  };
  const dlq = info.data ? deadLetterTopic(info.data) : null;
  return (
    <div className="view" data-testid="connector-detail">
      <div className="view-title">
        <h1>
          <Link to="/connectors">Connectors</Link> / {name}
        </h1>
        {status.data && <Badge status={status.data.connector.state} />}
        {status.data && <Actions name={name} state={status.data.connector.state} onDone={status.reload} />}
      </div>
      <ErrorBox error={status.error} title={`Connector ${name}`} onRetry={status.reload} />
      <ErrorBox error={counterError} title="Connector metrics" />
      {status.data?.connector.trace && (
        <div className="error" role="alert">
          <strong>Connector error:</strong> {status.data.connector.trace}
        </div>
      )}
      <div className="stats">
        <div className="stat">
          <span className="stat-label">Records</span>
          <span className="stat-value">{formatCount(counters?.records[name] ?? 0)}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Errors</span>
          <span className="stat-value">{formatCount(counters?.errors[name] ?? 0)}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Dead letters</span>
          <span className="stat-value">{formatCount(counters?.dlq[name] ?? 0)}</span>
          <span className="muted">{dlq ? <Link to={`/topics/${enc(dlq)}`}>{dlq}</Link> : 'no dead-letter topic configured'}</span>
        </div>
      </div>
      <div className="grid2">
        <Panel title="Tasks">
          <ErrorBox error={taskError} title="Restart task" />
          {status.data && status.data.tasks.length === 0 && <Empty>No tasks are running.</Empty>}
          {tasks.items.length > 0 && (
            <>
              <table data-testid="tasks">
                <thead>
                  <tr>
                    <th className="num">task</th>
                    <th>state</th>
                    <th>worker</th>
                    <th>error</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {tasks.items.map((t) => (
                    <tr key={t.id}>
                      <td className="num">{t.id}</td>
                      <td>
                        <Badge status={t.state} />
                      </td>
                      <td>{t.workerId}</td>
                      <td>{t.trace ? <pre className="error-text">{t.trace}</pre> : <span className="muted">—</span>}</td>
                      <td>
                        <button onClick={() => restartTask(t.id)}>Restart task</button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager page={tasks} label="tasks" />
            </>
          )}
        </Panel>
        <Panel title="Configuration">
          <ErrorBox error={info.error} title="Configuration" onRetry={info.reload} />
          {info.data && <KeyValues items={Object.entries(info.data.config).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)])} />}
        </Panel>
      </div>
      <Panel title="Offsets">
        <ErrorBox error={offsets.error} title="Offsets" onRetry={offsets.reload} />
        {offsets.data !== undefined && <pre data-testid="offsets">{JSON.stringify(offsets.data, null, 2)}</pre>}
      </Panel>
    </div>
  );
}
