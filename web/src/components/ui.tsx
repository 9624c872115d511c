/** Small building blocks every view uses: errors in words, paging, status badges, panels. */
import { useState, type ReactNode } from 'react';
import { errorText } from '../api.ts';
import { paginate, type Page } from '../lib/paging.ts';

export function ErrorBox({ error, title, onRetry }: { error: unknown; title?: string; onRetry?: () => void }) {
  if (error === undefined || error === null) return null;
  return (
    <div className="error" role="alert">
      <strong>{title ?? 'Error'}:</strong> {errorText(error)}
      {onRetry && (
        <button className="link" onClick={onRetry}>
          retry
        </button>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return <div className="muted">Loading {what}…</div>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function Panel({ title, actions, children, id }: { title: ReactNode; actions?: ReactNode; children: ReactNode; id?: string }) {
  return (
    <section className="panel" id={id}>
      <header>
        <h2>{title}</h2>
        {actions && <div className="actions">{actions}</div>}
      </header>
      <div className="panel-body">{children}</div>
    </section>
  );
}

const STATUS_CLASS: Record<string, string> = {
  OK: 'ok',
  ready: 'ok',
  running: 'ok',
  RUNNING: 'ok',
  success: 'ok',
  Stable: 'ok',
  WARN: 'warn',
  starting: 'warn',
  stopping: 'warn',
  PAUSED: 'warn',
  paused: 'warn',
  queued: 'info',
  Empty: 'muted',
  complete: 'ok',
  disabled: 'muted',
  STALLED: 'bad',
  failed: 'bad',
  FAILED: 'bad',
  stopped: 'bad',
  error: 'bad',
  Dead: 'bad',
};

export function Badge({ status, title }: { status: string; title?: string }) {
  return (
    <span className={`badge ${STATUS_CLASS[status] ?? 'info'}`} title={title}>
      {status}
    </span>
  );
}

export function usePaged<T>(items: readonly T[], pageSize = 20): Page<T> & { setPage: (p: number) => void } {
  const [page, setPage] = useState(0);
  return { ...paginate(items, page, pageSize), setPage };
}

export function Pager({ page, label = 'items' }: { page: Page<unknown> & { setPage: (p: number) => void }; label?: string }) {
  if (page.total === 0) return null;
  return (
    <div className="pager" aria-label="pages">
      <button disabled={page.page === 0} onClick={() => page.setPage(page.page - 1)}>
        ‹ Previous
      </button>
      <span>
        {page.from}–{page.to} of {page.total} {label} · page {page.page + 1} of {page.pages}
      </span>
      <button disabled={page.page >= page.pages - 1} onClick={() => page.setPage(page.page + 1)}>
        Next ›
      </button>
    </div>
  );
}

export function KeyValues({ items }: { items: Array<[string, ReactNode]> }) {
  return (
    <dl className="kv">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

export function LiveDot({ state }: { state: string }) {
  const text = state === 'open' ? 'live' : state === 'connecting' ? 'connecting…' : state === 'reconnecting' ? 'reconnecting… (live updates paused)' : 'not live';
  return <span className={`live ${state}`}>● {text}</span>;
}
