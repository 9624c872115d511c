/** SQL console: an editor, the result as a (virtualised) table, a line or bar chart of it, CSV download. */
import { useMemo, useRef, useState, type KeyboardEvent, type UIEvent } from 'react';
import { ApiError } from '../api.ts';
import { Chart } from '../components/chart.tsx';
import { Empty, ErrorBox, Panel } from '../components/ui.tsx';
import { toCsv } from '../lib/csv.ts';
import { formatCount } from '../lib/format.ts';
import { numericColumns, type QueryResult } from '../lib/result.ts';

/** Where queries go (the warehouse's endpoint). */
export const SQL_ENDPOINT = '/api/sql';
const ROW_HEIGHT = 26;
const HISTORY_KEY = 'tributary.sql.history';

function cell(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Only the rows in view are in the DOM, so 100 000 rows scroll as smoothly as 100. */
function ResultTable({ result }: { result: QueryResult }) {
  const [top, setTop] = useState(0);
  const height = Math.min(480, (result.rows.length + 1) * ROW_HEIGHT + 2);
  const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - 10);
  const last = Math.min(result.rows.length, first + Math.ceil(height / ROW_HEIGHT) + 20);
  const onScroll = (e: UIEvent<HTMLDivElement>) => setTop(e.currentTarget.scrollTop);
  return (
    <div className="result" style={{ height }} onScroll={onScroll} data-testid="sql-result">
      <table>
        <thead>
          <tr>
            <th className="num">#</th>
            {result.columns.map((c) => (
              <th key={c.name} title={c.type}>
                {c.name}
                {c.type && <span className="muted"> {c.type}</span>}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {first > 0 && <tr style={{ height: first * ROW_HEIGHT }} />}
          {result.rows.slice(first, last).map((r, i) => (
            <tr key={first + i} style={{ height: ROW_HEIGHT }}>
              <td className="num muted">{first + i + 1}</td>
              {r.map((v, j) => (
                <td key={j} className={typeof v === 'number' ? 'num' : v === null ? 'muted' : ''}>
                  {cell(v)}
                </td>
              ))}
            </tr>
          ))}
          {last < result.rows.length && <tr style={{ height: (result.rows.length - last) * ROW_HEIGHT }} />}
        </tbody>
      </table>
    </div>
  );
}

function ResultChart({ result }: { result: QueryResult }) {
  const numeric = useMemo(() => numericColumns(result), [result]);
  const [kind, setKind] = useState<'bar' | 'line'>('bar');
  const [xCol, setXCol] = useState(0);
  const [yCols, setYCols] = useState<number[] | null>(null);
  const ys = (yCols ?? numeric.filter((i) => i !== xCol).slice(0, 3)).filter((i) => i !== xCol);
  const shown = result.rows.slice(0, 2000);
  if (numeric.length === 0) return <Empty>No numeric column to chart.</Empty>;
  const toggle = (i: number) => setYCols((cur) => {
    const base = cur ?? ys;
    return base.includes(i) ? base.filter((x) => x !== i) : [...base, i];
  });
  return (
    <div data-testid="sql-chart">
      <div className="toolbar">
        <label>
          chart{' '}
          <select value={kind} onChange={(e) => setKind(e.target.value as 'bar' | 'line')} aria-label="chart kind">
            <option value="bar">bar</option>
            <option value="line">line</option>
          </select>
        </label>
        <label>
          x{' '}
          <select value={xCol} onChange={(e) => setXCol(Number(e.target.value))} aria-label="x column">
            {result.columns.map((c, i) => (
              <option key={c.name} value={i}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <span>
          y:{' '}
          {numeric.map((i) => (
            <label key={i} className="check">
              <input type="checkbox" checked={ys.includes(i)} onChange={() => toggle(i)} disabled={i === xCol} /> {result.columns[i]!.name}
            </label>
          ))}
        </span>
        {result.rows.length > shown.length && <span className="muted">charting the first {shown.length} rows</span>}
      </div>
      {ys.length === 0 ? (
        <Empty>Pick a numeric column for the y axis.</Empty>
      ) : (
        <Chart
          kind={kind}
          x={shown.map((_, i) => i)}
          categories={shown.map((r) => cell(r[xCol]))}
          series={ys.map((i) => ({ label: result.columns[i]!.name, values: shown.map((r) => (r[i] === null || r[i] === undefined ? null : Number(r[i]))) }))}
          height={260}
        />
      )}
    </div>
  );
}

export function download(filename: string, text: string, type = 'text/csv;charset=utf-8'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Rows kept in the browser; a larger result is cut there (and the query cancelled). */
const MAX_ROWS = 1_000_000;

/** " (line 3, column 7)" unless the message already says where. */
function positionText(p: unknown, message = ''): string {
  if (/\bline \d+/.test(message)) return '';
  const pos = p as { line?: number; column?: number } | undefined;
  return pos?.line ? ` (line ${pos.line}${pos.column ? `, column ${pos.column}` : ''})` : '';
}

/**
 * Runs a query through the warehouse (POST /api/sql, ndjson: a header line with the columns,
 * one JSON array per row, then `done` — or `error` if it fails midway) and reads the rows as
 * they stream in.
 */
export async function runSql(
  sql: string,
  opts: { asOf?: { snapshot: number }; signal?: AbortSignal; /** Partial results while rows stream in (at most every 250 ms). */ onRows?: (partial: QueryResult) => void } = {},
): Promise<QueryResult> {
  const started = performance.now();
  const ctl = new AbortController();
  opts.signal?.addEventListener('abort', () => ctl.abort());
  let res: Response;
  try {
    res = await fetch(SQL_ENDPOINT, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ sql, format: 'ndjson', ...(opts.asOf ? { asOf: opts.asOf } : {}) }),
      signal: ctl.signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError('NETWORK', `cannot reach the Tributary server (${(err as Error).message}): is \`tributary up\` still running?`, 0, true);
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string; position?: unknown } } | null;
    const e = body?.error;
    throw new ApiError(e?.code ?? `HTTP_${res.status}`, e?.message ? `${e.message}${positionText(e.position, e.message)}` : `the query failed with HTTP ${res.status}`, res.status);
  }
  let columns: QueryResult['columns'] = [];
  const rows: unknown[][] = [];
  let truncated = false;
  let serverMs: number | null = null;
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let lastEmit = 0;
  const line = (text: string) => {
    if (!text) return;
    const v = JSON.parse(text) as unknown;
    if (Array.isArray(v)) {
      if (rows.length < MAX_ROWS) rows.push(v);
      else truncated = true;
      return;
    }
    const o = v as { columns?: QueryResult['columns']; done?: { ms?: number }; error?: { code?: string; message?: string; position?: unknown } };
    if (o.error) throw new ApiError(o.error.code ?? 'WAREHOUSE_QUERY_FAILED', `${o.error.message ?? 'the query failed'}${positionText(o.error.position, o.error.message)}`, 200);
    if (o.columns) columns = o.columns.map((c) => ({ name: c.name, type: c.type ?? '' }));
    if (o.done) serverMs = o.done.ms ?? null;
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      line(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    if (truncated) {
      ctl.abort(); // the server cancels the query when the client leaves
      break;
    }
    // The first rows show at once; then the table grows as they arrive.
    if (opts.onRows && rows.length > 0 && (lastEmit === 0 || performance.now() - lastEmit >= 250)) {
      lastEmit = performance.now();
      opts.onRows({ columns, rows, truncated: false, elapsedMs: Math.round(lastEmit - started), streaming: true });
    }
  }
  if (!truncated) line(buf.trim());
  return { columns, rows, truncated, elapsedMs: serverMs ?? Math.round(performance.now() - started) };
}

export function SqlConsole() {
  const [sql, setSql] = useState(() => (JSON.parse(localStorage.getItem(HISTORY_KEY) ?? '[]') as string[])[0] ?? 'SELECT 42 AS answer');
  const [result, setResult] = useState<QueryResult | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [tab, setTab] = useState<'table' | 'chart'>('table');
  const editor = useRef<HTMLTextAreaElement>(null);
  const [history, setHistory] = useState<string[]>(() => JSON.parse(localStorage.getItem(HISTORY_KEY) ?? '[]') as string[]);

  const run = async () => {
    const text = (editor.current && editor.current.selectionStart !== editor.current.selectionEnd ? sql.slice(editor.current.selectionStart, editor.current.selectionEnd) : sql).trim();
    if (!text) {
      setError(new Error('write a query first'));
      return;
    }
    setBusy(true);
    setError(undefined);
    setResult(null);
    try {
      setResult(await runSql(text, { onRows: setResult }));
      const h = [text, ...history.filter((x) => x !== text)].slice(0, 20);
      setHistory(h);
      localStorage.setItem(HISTORY_KEY, JSON.stringify(h));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void run();
    }
  };
  return (
    <div className="view" data-testid="sql">
      <div className="view-title">
        <h1>SQL</h1>
      </div>
      <Panel
        title="Query"
        actions={
          <>
            {history.length > 0 && (
              <select value="" onChange={(e) => e.target.value && setSql(e.target.value)} aria-label="history">
                <option value="">history…</option>
                {history.map((h) => (
                  <option key={h} value={h}>
                    {h.slice(0, 80)}
                  </option>
                ))}
              </select>
            )}
            <button className="primary" onClick={run} disabled={busy}>
              {busy ? 'Running…' : 'Run (Ctrl+Enter)'}
            </button>
          </>
        }
      >
        <textarea ref={editor} className="editor" value={sql} onChange={(e) => setSql(e.target.value)} onKeyDown={onKey} rows={8} spellCheck={false} aria-label="SQL" />
      </Panel>
      <ErrorBox error={error} title="Query" />
      {result && (
        <Panel
          title={
            <>
              Result{' '}
              <span className="muted" data-testid="sql-summary">
                {result.streaming
                  ? `streaming: ${formatCount(result.rows.length)} rows so far · ${result.elapsedMs} ms`
                  : `${formatCount(result.rows.length)} rows${result.truncated ? ` (cut at ${formatCount(MAX_ROWS)}: the query was cancelled)` : ''} · ${result.elapsedMs} ms`}
              </span>
            </>
          }
          actions={
            <>
              <div className="tabs compact">
                <button className={tab === 'table' ? 'active' : ''} onClick={() => setTab('table')}>
                  Table
                </button>
                <button className={tab === 'chart' ? 'active' : ''} onClick={() => setTab('chart')}>
                  Chart
                </button>
              </div>
              <button disabled={result.streaming} onClick={() => download(`result-${new Date().toISOString().replace(/[:.]/g, '-')}.csv`, toCsv(result.columns.map((c) => c.name), result.rows))}>Download CSV</button>
            </>
          }
        >
          {result.columns.length === 0 ? <Empty>The statement returned no columns.</Empty> : tab === 'table' ? <ResultTable result={result} /> : <ResultChart result={result} />}
        </Panel>
      )}
    </div>
  );
}

/** A lake table's first rows (for the lake view), when the warehouse runs. */
export function SampleRows({ table, snapshot }: { table: string; snapshot: number | null }) {
  const [result, setResult] = useState<QueryResult | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const load = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setResult(await runSql(`SELECT * FROM ${table} LIMIT 50`, snapshot !== null ? { asOf: { snapshot } } : {}));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Panel title="Sample rows" actions={<button onClick={load} disabled={busy}>{busy ? 'Loading…' : result ? 'Reload' : 'Show 50 rows'}</button>}>
      <ErrorBox error={error} title="Sample rows" />
      {result ? <ResultTable result={result} /> : <Empty>Rows come from the SQL warehouse.</Empty>}
    </Panel>
  );
}
