import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from './api.ts';

export interface ApiState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * One EventSource on the monitor's `/api/events` for every live view of the page (browsers allow
 * few connections per server): each `tick` (one per throughput sample) goes to every subscriber.
 */
const tickSubscribers = new Set<() => void>();
let tickSource: EventSource | null = null;
function subscribeTicks(onTick: () => void): () => void {
  tickSubscribers.add(onTick);
  if (!tickSource) {
    tickSource = new EventSource('/api/events');
    tickSource.addEventListener('tick', () => {
      for (const f of tickSubscribers) f();
    });
  }
  return () => {
    tickSubscribers.delete(onTick);
    if (tickSubscribers.size === 0 && tickSource) {
      tickSource.close();
      tickSource = null;
    }
  };
}

/**
 * GETs `path` (null: nothing) and again every `refreshMs`. With `live`, it also reloads on every
 * tick the server pushes over Server-Sent Events (at most once per `live` ms; `refreshMs` is then
 * the fallback while the stream is down). The last good data stays while a refresh fails; the
 * error is returned for the view to show in words.
 */
export function useApi<T>(path: string | null, opts: { refreshMs?: number; accept?: number[]; live?: number } = {}): ApiState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(path !== null);
  const [nonce, setNonce] = useState(0);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  const lastPath = useRef(path);

  useEffect(() => {
    if (lastPath.current !== path) {
      lastPath.current = path;
      setData(undefined);
    }
    if (path === null) return;
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let inFlight = false;
    let lastAt = 0;
    const ctl = new AbortController();
    const load = async () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      inFlight = true;
      setLoading(true);
      try {
        const d = await api<T>(path, { signal: ctl.signal, ...(opts.accept ? { accept: opts.accept } : {}) });
        if (stop) return;
        setData(d);
        setError(undefined);
      } catch (err) {
        if (stop || (err as Error).name === 'AbortError') return;
        setError(err);
      } finally {
        inFlight = false;
        lastAt = Date.now();
        if (!stop) {
          setLoading(false);
          if (opts.refreshMs) timer = setTimeout(load, opts.refreshMs);
        }
      }
    };
    void load();
    const unsubscribe = opts.live
      ? subscribeTicks(() => {
          if (!stop && !inFlight && Date.now() - lastAt >= opts.live!) void load();
        })
      : null;
    return () => {
      stop = true;
      ctl.abort();
      unsubscribe?.();
      if (timer) clearTimeout(timer);
    };
  }, [path, nonce, opts.refreshMs, opts.live]);

  return { data, error, loading, reload };
}

export type LiveState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/**
 * Listens to a Server-Sent Events stream; `handlers` maps event names to callbacks (the latest
 * handlers are used without reconnecting). EventSource reconnects by itself; the state says so.
 */
export function useEvents(url: string | null, handlers: Record<string, (data: unknown) => void>): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  const ref = useRef(handlers);
  ref.current = handlers;
  const names = Object.keys(handlers).sort().join(',');
  useEffect(() => {
    if (url === null) {
      setState('closed');
      return;
    }
    setState('connecting');
    const es = new EventSource(url);
    es.onopen = () => setState('open');
    es.onerror = () => setState(es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
    const listeners = names.split(',').filter(Boolean).map((name) => {
      const l = (ev: MessageEvent) => {
        let data: unknown = ev.data;
        try {
          data = JSON.parse(ev.data as string);
        } catch {
          /* plain text event */
        }
        ref.current[name]?.(data);
      };
      es.addEventListener(name, l as EventListener);
      return [name, l] as const;
    });
    return () => {
      for (const [n, l] of listeners) es.removeEventListener(n, l as EventListener);
      es.close();
    };
  }, [url, names]);
  return state;
}
