/**
 * The models' dependency graph (pure): `ref()` edges, missing-model and cycle errors that name
 * the models, a deterministic build order, and dbt-style selection.
 *
 * Selectors (`--select`, several separated by spaces or commas, united):
 *   name       that model            +name   it and everything upstream
 *   name+      it and downstream     +name+  both
 *   tag:daily  models tagged daily   path:marts/   models whose file is under marts/
 */
import { WarehouseError } from '../errors.ts';
import { positionAt } from '../sql/positions.ts';
import { suggest } from '../../util/schema.ts';

export interface DagModel {
  name: string;
  file: string;
  text: string;
  refs: Array<{ name: string; offset: number }>;
  tags: string[];
}

export interface Dag {
  /** Every model, parents before children; ties broken by name. */
  order: string[];
  parents: Map<string, string[]>;
  children: Map<string, string[]>;
}

export function buildDag(models: ReadonlyMap<string, DagModel>): Dag {
  const parents = new Map<string, string[]>();
  const children = new Map<string, string[]>();
  for (const m of models.values()) children.set(m.name, []);
  const names = [...models.keys()].sort();
  for (const name of names) {
    const m = models.get(name)!;
    const ps: string[] = [];
    for (const r of m.refs) {
      if (!models.has(r.name)) {
        const p = positionAt(m.text, r.offset, m.file);
        const hint = suggest(r.name, names);
        throw new WarehouseError(
          'WAREHOUSE_MODEL_UNKNOWN',
          `model ${m.name} (${m.file}:${p.line}:${p.column}) refers to ref('${r.name}'), which is not a model${hint ? ` — did you mean '${hint}'?` : ''} (models: ${names.join(', ') || 'none'})`,
          { position: p },
        );
      }
      if (r.name === m.name) throw new WarehouseError('WAREHOUSE_MODEL_CYCLE', `model ${m.name} (${m.file}) refers to itself: use {{ this }} for its own table in an incremental model`);
      if (!ps.includes(r.name)) ps.push(r.name);
    }
    parents.set(name, ps.sort());
    for (const p of ps) children.get(p)!.push(name);
  }
  for (const c of children.values()) c.sort();

  // Kahn's algorithm, smallest name first, so the order is stable.
  const indegree = new Map(names.map((n) => [n, parents.get(n)!.length]));
  const ready = names.filter((n) => indegree.get(n) === 0);
  const order: string[] = [];
  while (ready.length) {
    ready.sort();
    const n = ready.shift()!;
    order.push(n);
    for (const c of children.get(n)!) {
      indegree.set(c, indegree.get(c)! - 1);
      if (indegree.get(c) === 0) ready.push(c);
    }
  }
  if (order.length < names.length) {
    const cycle = findCycle(names.filter((n) => indegree.get(n)! > 0), parents);
    throw new WarehouseError(
      'WAREHOUSE_MODEL_CYCLE',
      `models refer to each other in a cycle: ${cycle.join(' → ')} (→: refers to; ${cycle
        .slice(0, -1)
        .map((n) => models.get(n)!.file)
        .join(', ')}); break it by removing one ref()`,
    );
  }
  return { order, parents, children };
}

/** One cycle among the stuck nodes, as a path that returns to its start. */
function findCycle(stuck: string[], parents: Map<string, string[]>): string[] {
  const inStuck = new Set(stuck);
  const start = stuck.sort()[0]!;
  const path: string[] = [];
  const seen = new Map<string, number>();
  let n = start;
  for (;;) {
    if (seen.has(n)) {
      const cyc = path.slice(seen.get(n)!);
      // Report in ref direction: a model, then the model it depends on, …
      return [...cyc, n];
    }
    seen.set(n, path.length);
    path.push(n);
    n = parents.get(n)!.filter((p) => inStuck.has(p)).sort()[0]!;
  }
}

/** The models `selectors` pick, in build order. No selectors: all. */
export function selectModels(dag: Dag, models: ReadonlyMap<string, DagModel>, selectors: readonly string[]): string[] {
  const items = selectors.flatMap((s) => s.split(/[\s,]+/)).filter(Boolean);
  if (items.length === 0) return [...dag.order];
  const picked = new Set<string>();
  const walk = (start: string, edges: Map<string, string[]>) => {
    const stack = [start];
    while (stack.length) {
      const n = stack.pop()!;
      for (const e of edges.get(n) ?? []) {
        if (!picked.has(e)) {
          picked.add(e);
          stack.push(e);
        }
      }
    }
  };
  for (const item of items) {
    const up = item.startsWith('+');
    const down = item.endsWith('+') && item.length > 1;
    const core = item.slice(up ? 1 : 0, down ? -1 : undefined);
    let matched: string[];
    if (core.startsWith('tag:')) matched = [...models.values()].filter((m) => m.tags.includes(core.slice(4))).map((m) => m.name);
    else if (core.startsWith('path:')) {
      const prefix = core.slice(5).replace(/^\.?\//, '');
      matched = [...models.values()].filter((m) => m.file.startsWith(prefix) || m.file.replace(/^models\//, '').startsWith(prefix)).map((m) => m.name);
    } else matched = models.has(core) ? [core] : [];
    if (matched.length === 0) {
      const hint = suggest(core, [...models.keys()]);
      throw new WarehouseError('WAREHOUSE_MODEL_UNKNOWN', `--select ${item}: matches no model${hint ? ` — did you mean '${hint}'?` : ''} (models: ${[...models.keys()].sort().join(', ') || 'none'})`);
    }
    for (const m of matched) {
      picked.add(m);
      if (up) walk(m, dag.parents);
      if (down) walk(m, dag.children);
    }
  }
  return dag.order.filter((n) => picked.has(n));
}
