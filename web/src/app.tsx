/** The shell: navigation over the views this server has, and the view for the current path. */
import { Suspense, useEffect, useState } from 'react';
import { api, ApiError } from './api.ts';
import { ErrorBox, Loading } from './components/ui.tsx';
import { Link, match, usePath } from './router.tsx';
import { VIEWS, type ViewDef } from './views/registry.tsx';

type Availability = Record<string, 'yes' | 'no' | 'unknown'>;

/** A probe says "absent" only for the router's own 404 (NOT_FOUND: no such endpoint). */
async function probe(path: string): Promise<'yes' | 'no'> {
  try {
    await api(path);
    return 'yes';
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && err.code === 'NOT_FOUND' && /no such endpoint/.test(err.message)) return 'no';
    return 'yes'; // the part exists; its view shows the error
  }
}

export function App() {
  const { path, query } = usePath();
  const [avail, setAvail] = useState<Availability>(() => Object.fromEntries(VIEWS.map((v) => [v.id, v.probe || v.readyPart ? 'unknown' : 'yes'])));
  useEffect(() => {
    for (const v of VIEWS) {
      if (v.probe) void probe(v.probe).then((a) => setAvail((cur) => ({ ...cur, [v.id]: a })));
    }
    const byPart = VIEWS.filter((v) => v.readyPart);
    if (byPart.length) {
      void api<{ parts: Record<string, { state: string }> }>('/ready', { accept: [503] }).then(
        (r) => setAvail((cur) => ({ ...cur, ...Object.fromEntries(byPart.map((v) => [v.id, r.parts[v.readyPart!] && r.parts[v.readyPart!]!.state !== 'disabled' ? 'yes' : 'no'])) })),
        () => setAvail((cur) => ({ ...cur, ...Object.fromEntries(byPart.map((v) => [v.id, 'no'])) })),
      );
    }
  }, []);

  let found: { view: ViewDef; node: React.ReactNode } | null = null;
  for (const v of VIEWS) {
    for (const r of v.routes) {
      const params = match(r.pattern, path);
      if (params) {
        found = { view: v, node: r.render(params, query) };
        break;
      }
    }
    if (found) break;
  }

  return (
    <div className="app">
      <nav className="nav">
        <Link to="/" className="brand">
          Tributary
        </Link>
        {VIEWS.filter((v) => avail[v.id] === 'yes').map((v) => {
          const active = v.path === '/' ? path === '/' : path === v.path || path.startsWith(`${v.path}/`);
          return (
            <Link key={v.id} to={v.path} className={active ? 'active' : ''}>
              {v.title}
            </Link>
          );
        })}
        <a href="/metrics" className="right" target="_blank" rel="noreferrer">
          /metrics
        </a>
      </nav>
      <main>
        {found && avail[found.view.id] === 'no' ? (
          <ErrorBox
            title={found.view.title}
            error={new Error(`this server does not run ${found.view.part ?? 'the part behind this view'} (${found.view.probe ? `GET ${found.view.probe} answered "no such endpoint"` : `/ready lists no part "${found.view.readyPart}"`})`)}
          />
        ) : found ? (
          <Suspense fallback={<Loading what={found.view.title} />}>{found.node}</Suspense>
        ) : (
          <ErrorBox title="Not found" error={new Error(`there is no page at ${path}: pick a view above`)} />
        )}
      </main>
    </div>
  );
}
