import type { z } from 'zod';
import { ConfigError } from '../util/errors.ts';

export interface ConfigProblem {
  /** Dotted path of the field, e.g. `topics.orders.partitions` or `generators[0].ratePerSecond`. */
  path: string;
  message: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['topics', 'shop.orders', 'partitions']` → `topics["shop.orders"].partitions`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && IDENTIFIER.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

/** Turns zod issues into one problem per bad field. */
export function problemsFromIssues(issues: readonly z.core.$ZodIssue[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys' && issue.keys.length === 1) {
      problems.push({ path: formatPath([...issue.path, issue.keys[0]!]), message: issue.message });
    } else if (issue.code === 'invalid_key') {
      problems.push({ path: formatPath(issue.path), message: issue.issues[0]?.message ?? issue.message });
    } else if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // Several shapes were possible and none matched: report the first shape's problems.
      problems.push(...problemsFromIssues(issue.errors[0]!.map((i) => ({ ...i, path: [...issue.path, ...i.path] }))));
    } else {
      problems.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return problems;
}

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
