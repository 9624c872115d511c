/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), for tests, the
 * benchmark and tools that read `/metrics`. Strict means it rejects what a Prometheus server
 * would reject or silently mangle: bad names, bad escapes, unquoted or duplicate labels, a TYPE
 * after its samples or twice, duplicate series, samples outside their declared family, and
 * histograms whose buckets are not cumulative or lack `+Inf` = `_count`.
 *
 * Grammar (https://prometheus.io/docs/instrumenting/exposition_formats/):
 *   # HELP <name> <docstring with \\ and \n escapes>
 *   # TYPE <name> counter|gauge|histogram|summary|untyped
 *   <name>[{<label>="<value with \\ \" \n escapes>",…}] <float> [<int64 timestamp ms>]
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp?: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string | null;
  samples: Sample[];
}

export class ExpositionParseError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = 'ExpositionParseError';
    this.line = line;
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseFloatStrict(text: string, line: number): number {
  // As Go's strconv.ParseFloat (what Prometheus uses): NaN and Inf in any letter case.
  const lower = text.toLowerCase();
  if (lower === 'nan') return NaN;
  if (lower === '+inf' || lower === 'inf' || lower === '+infinity' || lower === 'infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new ExpositionParseError(line, `invalid sample value "${text}"`);
  return Number(text);
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** The family a sample belongs to: its own name, or the histogram/summary base name. */
function familyOf(sampleName: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  const own = families.get(sampleName);
  if (own) return own;
  for (const suffix of ['_bucket', '_sum', '_count', '_created']) {
    if (!sampleName.endsWith(suffix)) continue;
    const base = families.get(sampleName.slice(0, -suffix.length));
    if (base && (base.type === 'histogram' || base.type === 'summary')) {
      if (suffix === '_bucket' && base.type !== 'histogram') return undefined;
      return base;
    }
  }
  return undefined;
}

function parseLabels(text: string, start: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start; // just after '{'
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return { labels, end: i + 1 };
    let j = i;
    while (j < text.length && /[a-zA-Z0-9_]/.test(text[j]!)) j++;
    const name = text.slice(i, j);
    if (!LABEL_NAME.test(name)) throw new ExpositionParseError(line, `invalid label name "${name}"`);
    if (name in labels) throw new ExpositionParseError(line, `label "${name}" appears twice`);
    i = j;
    while (text[i] === ' ') i++;
    if (text[i] !== '=') throw new ExpositionParseError(line, `expected "=" after label ${name}`);
    i++;
    while (text[i] === ' ') i++;
    if (text[i] !== '"') throw new ExpositionParseError(line, `label ${name}: value must be in double quotes`);
    i++;
    let value = '';
    for (;;) {
      const ch = text[i];
      if (ch === undefined) throw new ExpositionParseError(line, `label ${name}: unterminated value`);
      if (ch === '"') break;
      if (ch === '\\') {
        const next = text[i + 1];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else throw new ExpositionParseError(line, `label ${name}: invalid escape "\\${next ?? ''}"`);
        i += 2;
        continue;
      }
      value += ch;
      i++;
    }
    i++; // closing quote
    labels[name] = value;
    while (text[i] === ' ') i++;
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '}') return { labels, end: i + 1 };
    throw new ExpositionParseError(line, `expected "," or "}" after label ${name}`);
  }
}

/**
 * Parses an exposition into its metric families (in order of appearance).
 *
 * @example
 * ```ts
 * const families = parseExposition(await (await fetch('http://localhost:8080/metrics')).text());
 * const appended = families.get('tributary_log_appended_records_total')?.samples;
 * ```
 */
export function parseExposition(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const seriesSeen = new Set<string>();
  const closed = new Set<string>(); // families whose samples ended (another family's samples came after)
  const typed = new Set<string>();
  let current: MetricFamily | null = null;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();

  const declare = (name: string, lineNo: number): MetricFamily => {
    if (!METRIC_NAME.test(name)) throw new ExpositionParseError(lineNo, `invalid metric name "${name}"`);
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: 'untyped', help: null, samples: [] }));
    return f;
  };

  lines.forEach((raw, idx) => {
    const lineNo = idx + 1;
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s*(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!m) return; // an ordinary comment
      const [, kind, name, rest = ''] = m;
      const f = declare(name!, lineNo);
      if (kind === 'HELP') {
        if (f.help !== null) throw new ExpositionParseError(lineNo, `second HELP for ${name}`);
        f.help = unescapeHelp(rest);
      } else {
        const type = rest.trim() as MetricType;
        if (!TYPES.has(type)) throw new ExpositionParseError(lineNo, `unknown type "${rest}" for ${name}`);
        if (f.samples.length > 0) throw new ExpositionParseError(lineNo, `TYPE for ${name} comes after its samples`);
        if (typed.has(f.name)) throw new ExpositionParseError(lineNo, `second TYPE for ${name}`);
        typed.add(f.name);
        f.type = type;
      }
      return;
    }

    let i = 0;
    while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i]!)) i++;
    const name = line.slice(0, i);
    if (!METRIC_NAME.test(name)) throw new ExpositionParseError(lineNo, `invalid metric name at "${line.slice(0, 40)}"`);
    let labels: Record<string, string> = {};
    if (line[i] === '{') {
      const parsed = parseLabels(line, i + 1, lineNo);
      labels = parsed.labels;
      i = parsed.end;
    }
    const rest = line.slice(i).trim().split(/\s+/);
    if (line[i] !== ' ' && line[i] !== '\t') throw new ExpositionParseError(lineNo, `expected a space before the value of ${name}`);
    if (rest.length < 1 || rest.length > 2 || rest[0] === '') throw new ExpositionParseError(lineNo, `expected "<value> [timestamp]" after ${name}`);
    const value = parseFloatStrict(rest[0]!, lineNo);
    let timestamp: number | undefined;
    if (rest[1] !== undefined) {
      if (!/^-?\d+$/.test(rest[1])) throw new ExpositionParseError(lineNo, `invalid timestamp "${rest[1]}"`);
      timestamp = Number(rest[1]);
    }

    const family = familyOf(name, families) ?? declare(name, lineNo);
    if (current !== family) {
      if (closed.has(family.name)) throw new ExpositionParseError(lineNo, `samples of ${family.name} are not together`);
      if (current) closed.add(current.name);
      current = family;
    }
    if (family.type === 'counter' && value < 0) throw new ExpositionParseError(lineNo, `counter ${name} is negative (${value})`);
    if (family.type === 'histogram' && name.endsWith('_bucket') && !('le' in labels)) {
      throw new ExpositionParseError(lineNo, `histogram bucket ${name} has no "le" label`);
    }
    const key = `${name}{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
    if (seriesSeen.has(key)) throw new ExpositionParseError(lineNo, `duplicate series ${key}`);
    seriesSeen.add(key);
    family.samples.push({ name, labels, value, ...(timestamp !== undefined ? { timestamp } : {}) });
  });

  for (const f of families.values()) {
    if (f.type === 'histogram') checkHistogram(f);
  }
  return families;
}

function checkHistogram(f: MetricFamily): void {
  const groups = new Map<string, { buckets: Array<{ le: number; value: number }>; count?: number }>();
  const keyOf = (labels: Record<string, string>) =>
    Object.keys(labels)
      .filter((k) => k !== 'le')
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(',');
  for (const s of f.samples) {
    const k = keyOf(s.labels);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { buckets: [] }));
    if (s.name === `${f.name}_bucket`) g.buckets.push({ le: parseFloatStrict(s.labels['le']!, 0), value: s.value });
    else if (s.name === `${f.name}_count`) g.count = s.value;
  }
  for (const [k, g] of groups) {
    const sorted = [...g.buckets].sort((a, b) => a.le - b.le);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.value < sorted[i - 1]!.value) throw new ExpositionParseError(0, `histogram ${f.name}{${k}}: buckets are not cumulative`);
    }
    const inf = sorted[sorted.length - 1];
    if (!inf || inf.le !== Infinity) throw new ExpositionParseError(0, `histogram ${f.name}{${k}}: no le="+Inf" bucket`);
    if (g.count !== undefined && g.count !== inf.value) throw new ExpositionParseError(0, `histogram ${f.name}{${k}}: +Inf bucket ${inf.value} ≠ _count ${g.count}`);
  }
}

/** Sum of a family's samples (optionally of one sample name and matching labels). */
export function sumSamples(families: Map<string, MetricFamily>, name: string, match: Record<string, string> = {}, sampleName = name): number {
  const f = families.get(name);
  if (!f) return 0;
  return f.samples
    .filter((s) => s.name === sampleName && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}
