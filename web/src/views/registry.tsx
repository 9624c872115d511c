/**
 * The views of the UI. Each part of Tributary brings its own: a view names the API endpoint that
 * proves its part runs on this server (`probe`); the navigation shows it only when that endpoint
 * exists. Adding a part's view = one entry here and its file in views/.
 */
import { lazy, type ReactNode } from 'react';
import { Overview } from './overview.tsx';

// The overview is in the first bundle (it is what opens first); every other view loads on demand.
const Topics = lazy(() => import('./topics.tsx').then((m) => ({ default: m.Topics })));
const TopicDetail = lazy(() => import('./topics.tsx').then((m) => ({ default: m.TopicDetail })));
const Groups = lazy(() => import('./groups.tsx').then((m) => ({ default: m.Groups })));
const GroupDetail = lazy(() => import('./groups.tsx').then((m) => ({ default: m.GroupDetail })));
const Streams = lazy(() => import('./streams.tsx').then((m) => ({ default: m.Streams })));
const StreamApp = lazy(() => import('./streams.tsx').then((m) => ({ default: m.StreamApp })));
const Workflows = lazy(() => import('./workflows.tsx').then((m) => ({ default: m.Workflows })));
const DagView = lazy(() => import('./workflows.tsx').then((m) => ({ default: m.DagView })));
const Lake = lazy(() => import('./lake.tsx').then((m) => ({ default: m.Lake })));
const LakeTable = lazy(() => import('./lake.tsx').then((m) => ({ default: m.LakeTable })));
const SqlConsole = lazy(() => import('./sql.tsx').then((m) => ({ default: m.SqlConsole })));
const Connectors = lazy(() => import('./connectors.tsx').then((m) => ({ default: m.Connectors })));
const ConnectorDetail = lazy(() => import('./connectors.tsx').then((m) => ({ default: m.ConnectorDetail })));

export interface ViewRoute {
  pattern: string;
  render: (params: Record<string, string>, query: URLSearchParams) => ReactNode;
}

export interface ViewDef {
  id: string;
  title: string;
  /** Where the navigation link points. */
  path: string;
  routes: ViewRoute[];
  /** GET this; a "no such endpoint" answer means the part is not on this server. */
  probe?: string;
  /** Or: the view is there when GET /ready lists this part (for parts with POST-only endpoints). */
  readyPart?: string;
  /** Which part provides it (said when it is missing). */
  part?: string;
}

export const VIEWS: ViewDef[] = [
  { id: 'overview', title: 'Overview', path: '/', routes: [{ pattern: '/', render: () => <Overview /> }] },
  {
    id: 'topics',
    title: 'Topics',
    path: '/topics',
    routes: [
      { pattern: '/topics', render: () => <Topics /> },
      { pattern: '/topics/:name', render: (p) => <TopicDetail key={p['name']} name={p['name']!} /> },
    ],
  },
  {
    id: 'groups',
    title: 'Consumer groups',
    path: '/groups',
    routes: [
      { pattern: '/groups', render: () => <Groups /> },
      { pattern: '/groups/:id', render: (p) => <GroupDetail key={p['id']} id={p['id']!} /> },
    ],
  },
  {
    id: 'streams',
    title: 'Streams',
    path: '/streams',
    probe: '/api/streams',
    part: 'stream processing (streams)',
    routes: [
      { pattern: '/streams', render: () => <Streams /> },
      { pattern: '/streams/:app', render: (p) => <StreamApp key={p['app']} id={p['app']!} /> },
    ],
  },
  {
    id: 'workflows',
    title: 'Workflows',
    path: '/workflows',
    probe: '/api/dags',
    part: 'workflows (flow)',
    routes: [
      { pattern: '/workflows', render: () => <Workflows /> },
      { pattern: '/workflows/:dag', render: (p, q) => <DagView key={p['dag']} id={p['dag']!} tab={q.get('tab')} /> },
    ],
  },
  {
    id: 'lake',
    title: 'Lake',
    path: '/lake',
    probe: '/api/lake/sinks',
    part: 'the lake',
    routes: [
      { pattern: '/lake', render: () => <Lake /> },
      {
        pattern: '/lake/:table',
        render: (p, q) => <LakeTable key={p['table']} table={p['table']!} snapshot={q.get('snapshot') ? Number(q.get('snapshot')) : null} />,
      },
    ],
  },
  {
    id: 'sql',
    title: 'SQL',
    path: '/sql',
    readyPart: 'warehouse',
    part: 'the SQL warehouse (warehouse)',
    routes: [{ pattern: '/sql', render: () => <SqlConsole /> }],
  },
  {
    id: 'connectors',
    title: 'Connectors',
    path: '/connectors',
    probe: '/api/connectors',
    part: 'connectors (connect)',
    routes: [
      { pattern: '/connectors', render: () => <Connectors /> },
      { pattern: '/connectors/:name', render: (p) => <ConnectorDetail key={p['name']} name={p['name']!} /> },
    ],
  },
];
