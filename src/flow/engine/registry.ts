/** The DAGs a process knows (loaded from files or passed in code) and the files that failed to load. */
import type { Dag } from '../define/dag.ts';
import type { DagInfo } from '../store/flow-store.ts';

export interface ImportError {
  file: string;
  message: string;
}

export class DagRegistry {
  private map = new Map<string, Dag>();
  private errors: ImportError[] = [];

  constructor(dags: Iterable<Dag> = []) {
    for (const d of dags) this.map.set(d.id, d);
  }

  get dags(): ReadonlyMap<string, Dag> {
    return this.map;
  }

  get importErrors(): readonly ImportError[] {
    return this.errors;
  }

  get(id: string): Dag | undefined {
    return this.map.get(id);
  }

  /** Replaces the whole set (a reload of the DAG folder). */
  replace(dags: Iterable<Dag>, errors: ImportError[] = []): void {
    const next = new Map<string, Dag>();
    for (const d of dags) next.set(d.id, d);
    this.map = next;
    this.errors = errors;
  }

  add(dag: Dag): void {
    this.map.set(dag.id, dag);
  }
}

export function dagInfo(dag: Dag): DagInfo {
  const tt = dag.timetable;
  return {
    shape: dag.shape(),
    schedule: tt.description,
    scheduleKind: tt.kind,
    datasets: tt.datasets ? { names: tt.datasets.datasets, mode: tt.datasets.mode ?? 'all' } : null,
    timezone: dag.options.timezone,
    catchup: dag.options.catchup,
    start: dag.options.start,
    end: dag.options.end,
    tags: dag.options.tags,
    description: dag.options.description,
    params: dag.paramDefaults,
    file: dag.file,
  };
}
