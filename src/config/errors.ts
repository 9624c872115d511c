import { ConfigError } from '../util/errors.ts';
import type { Problem } from '../util/schema.ts';

export { formatPath, problemsFromIssues } from '../util/schema.ts';

/** One bad field: its path (`topics.orders.partitions`) and what is wrong with it. */
export type ConfigProblem = Problem;

/**
 * A configuration that cannot be used: names the source (a file, `env TRIBUTARY_HTTP_PORT`,
 * a flag) and every bad field in it. `path` is the first bad field.
 *
 * Message: `tributary.config.ts: topics.orders.partitions: expected a whole number ≥ 1, got 0`
 * (one line per problem).
 */
export class ConfigSourceError extends ConfigError {
  readonly source: string;
  readonly problems: ConfigProblem[];

  constructor(source: string, problems: ConfigProblem[]) {
    const first = problems[0] ?? { path: '', message: 'invalid configuration' };
    super(first.path, first.message);
    this.name = 'ConfigError';
    this.source = source;
    this.problems = problems;
    this.message = problems
      .map((p) => (p.path ? `${source}: ${p.path}: ${p.message}` : `${source}: ${p.message}`))
      .join('\n');
  }
}
