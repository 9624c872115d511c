/**
 * Recent failures, for the overview's "what went wrong lately" list: a bounded ring of events in
 * words, each with a stable increasing id (so a client pages with `before=<id>` and resumes a
 * live stream without duplicates).
 */

export type FailureSeverity = 'error' | 'warning' | 'info';
export const FAILURE_SEVERITIES: readonly FailureSeverity[] = ['error', 'warning', 'info'];

export interface FailureEvent {
  id: number;
  time: number;
  severity: FailureSeverity;
  /** What it concerns: `group:billing`, `metric:tributary_generator_errors_total`, `part:lake`. */
  source: string;
  message: string;
}

export type FailureListener = (event: FailureEvent) => void;

export class FailureLog {
  private readonly events: FailureEvent[] = [];
  private nextId = 1;
  private readonly listeners = new Set<FailureListener>();

  constructor(
    private readonly capacity = 500,
    private readonly now: () => number = Date.now,
  ) {}

  add(e: { severity: FailureSeverity; source: string; message: string; time?: number }): FailureEvent {
    const event: FailureEvent = { id: this.nextId++, time: e.time ?? this.now(), severity: e.severity, source: e.source, message: e.message };
    this.events.push(event);
    if (this.events.length > this.capacity) this.events.splice(0, this.events.length - this.capacity);
    for (const l of this.listeners) l(event);
    return event;
  }

  /**
   * Newest first; `before` pages back (events with a smaller id). `q` keeps events whose message
   * or source contains it (case-insensitive); `severities` keeps those severities only.
   */
  list(opts: { limit?: number; before?: number; q?: string; severities?: readonly FailureSeverity[] } = {}): { events: FailureEvent[]; total: number; nextBefore: number | null } {
    const limit = opts.limit ?? 50;
    const q = opts.q?.toLowerCase();
    const matches = (e: FailureEvent) =>
      (opts.before === undefined || e.id < opts.before) &&
      (!q || e.message.toLowerCase().includes(q) || e.source.toLowerCase().includes(q)) &&
      (!opts.severities || opts.severities.includes(e.severity));
    const older = opts.before === undefined && !q && !opts.severities ? this.events : this.events.filter(matches);
    const page = older.slice(-limit).reverse();
    const more = older.length > limit;
    return { events: page, total: this.events.length, nextBefore: more ? page[page.length - 1]!.id : null };
  }

  subscribe(listener: FailureListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
