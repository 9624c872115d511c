/**
 * Model templates (pure): the dbt subset a SQL model may use.
 *
 *   {{ ref('orders_daily') }}          another model's relation (`curated.orders_daily`)
 *   {{ source('raw', 'orders') }}      a lake table (`raw.orders`)
 *   {{ this }}                         this model's own relation (incremental models)
 *   {{ config(materialized='incremental', unique_key='id') }}   settings; renders nothing
 *   {{ var('days', 7) }}               a build variable (`--vars '{"days": 30}'`), with a default
 *   {% if is_incremental() %} … {% elif … %} … {% else %} … {% endif %}
 *   {# a comment #}
 *
 * `parseTemplate` finds every ref/source/config statically (in every branch) so the DAG is
 * known before anything runs; `renderTemplate` produces SQL plus a source map back to the
 * template, so DuckDB's error positions land on the model file's line and column.
 */
import { WarehouseError } from '../errors.ts';
import { positionAt } from '../sql/positions.ts';
import { SourceMap } from '../sql/source-map.ts';

export type Literal = string | number | boolean | null | Literal[];

export type Expr =
  | { kind: 'lit'; value: Literal; start: number }
  | { kind: 'name'; name: string; start: number }
  | { kind: 'not'; expr: Expr; start: number }
  | { kind: 'call'; name: string; args: Expr[]; kwargs: Array<{ key: string; value: Expr }>; start: number };

export type Node =
  | { kind: 'text'; start: number; end: number }
  | { kind: 'expr'; start: number; end: number; expr: Expr }
  | { kind: 'if'; start: number; end: number; branches: Array<{ cond: Expr | null; body: Node[] }> };

export interface ParsedTemplate {
  text: string;
  file: string;
  nodes: Node[];
  refs: Array<{ name: string; offset: number }>;
  sources: Array<{ zone: string; table: string; offset: number }>;
  /** From `config(...)` calls, merged in order. */
  config: Record<string, Literal>;
  configOffset: number | null;
  vars: string[];
}

export interface RenderContext {
  ref(name: string, offset: number): string;
  source(zone: string, table: string, offset: number): string;
  this: string;
  isIncremental: boolean;
  vars: Record<string, unknown>;
}

const FUNCTIONS = ['ref', 'source', 'config', 'var', 'is_incremental'] as const;

class TemplateSyntax {
  constructor(
    readonly text: string,
    readonly file: string,
  ) {}
  fail(offset: number, message: string): never {
    const p = positionAt(this.text, offset, this.file);
    throw new WarehouseError('WAREHOUSE_MODEL_INVALID', `${this.file}:${p.line}:${p.column}: ${message}`, { position: p });
  }
}

export function parseTemplate(text: string, file: string): ParsedTemplate {
  const s: TemplateSyntax = new TemplateSyntax(text, file);
  type Tag = { kind: 'text' | 'expr' | 'stmt'; start: number; end: number; inner: string; innerStart: number };
  const tags: Tag[] = [];
  let i = 0;
  let textStart = 0;
  const pushText = (end: number) => {
    if (end > textStart) tags.push({ kind: 'text', start: textStart, end, inner: '', innerStart: textStart });
  };
  while (i < text.length) {
    const two = text.slice(i, i + 2);
    if (two === '{{' || two === '{%' || two === '{#') {
      const close = two === '{{' ? '}}' : two === '{%' ? '%}' : '#}';
      const endAt = text.indexOf(close, i + 2);
      if (endAt < 0) s.fail(i, `${two} is never closed with ${close}`);
      pushText(i);
      let innerStart = i + 2;
      let innerEnd = endAt;
      if (text[innerStart] === '-') innerStart++;
      if (text[innerEnd - 1] === '-') innerEnd--;
      if (two !== '{#') tags.push({ kind: two === '{{' ? 'expr' : 'stmt', start: i, end: endAt + 2, inner: text.slice(innerStart, innerEnd), innerStart });
      i = endAt + 2;
      textStart = i;
    } else i++;
  }
  pushText(text.length);

  const parsed: ParsedTemplate = { text, file, nodes: [], refs: [], sources: [], config: {}, configOffset: null, vars: [] };
  let pos = 0;
  const parseBlock = (stopAt: string[]): { nodes: Node[]; stop: { word: string; tag: Tag; cond: Expr | null } | null } => {
    const nodes: Node[] = [];
    while (pos < tags.length) {
      const tag = tags[pos++]!;
      if (tag.kind === 'text') {
        nodes.push({ kind: 'text', start: tag.start, end: tag.end });
        continue;
      }
      if (tag.kind === 'expr') {
        const expr = parseExpr(s, tag.inner, tag.innerStart);
        collect(parsed, s, expr);
        nodes.push({ kind: 'expr', start: tag.start, end: tag.end, expr });
        continue;
      }
      const m = /^\s*([a-z_]+)\s*([\s\S]*?)\s*$/.exec(tag.inner);
      const word = m?.[1] ?? '';
      const rest = m?.[2] ?? '';
      const restStart = tag.innerStart + tag.inner.indexOf(rest, tag.inner.indexOf(word) + word.length);
      if (stopAt.includes(word)) {
        return { nodes, stop: { word, tag, cond: word === 'elif' ? parseExpr(s, rest, restStart) : null } };
      }
      if (word === 'if') {
        const cond = parseExpr(s, rest, restStart);
        collect(parsed, s, cond);
        const branches: Array<{ cond: Expr | null; body: Node[] }> = [];
        let current: Expr | null = cond;
        for (;;) {
          const block = parseBlock(['elif', 'else', 'endif']);
          branches.push({ cond: current, body: block.nodes });
          if (!block.stop) s.fail(tag.start, '{% if %} is never closed with {% endif %}');
          if (block.stop.word === 'endif') {
            nodes.push({ kind: 'if', start: tag.start, end: block.stop.tag.end, branches });
            break;
          }
          if (block.stop.word === 'else') {
            const last = parseBlock(['endif']);
            if (!last.stop) s.fail(block.stop.tag.start, '{% else %} is never closed with {% endif %}');
            branches.push({ cond: null, body: last.nodes });
            nodes.push({ kind: 'if', start: tag.start, end: last.stop.tag.end, branches });
            break;
          }
          current = block.stop.cond;
          if (current) collect(parsed, s, current);
        }
        continue;
      }
      s.fail(tag.start, word ? `unknown tag {% ${word} %}: use if / elif / else / endif` : 'empty {% %} tag');
    }
    return { nodes, stop: null };
  };
  const top = parseBlock([]);
  parsed.nodes = top.nodes;
  return parsed;
}

function collect(parsed: ParsedTemplate, s: TemplateSyntax, e: Expr): void {
  if (e.kind === 'not') return collect(parsed, s, e.expr);
  if (e.kind !== 'call') return;
  for (const a of e.args) collect(parsed, s, a);
  const str = (x: Expr | undefined, what: string): string => {
    if (x?.kind !== 'lit' || typeof x.value !== 'string') s.fail(x?.start ?? e.start, `${e.name}(): ${what} must be a quoted string`);
    return x.value as string;
  };
  switch (e.name) {
    case 'ref':
      if (e.args.length !== 1 || e.kwargs.length) s.fail(e.start, "ref() takes one model name: {{ ref('orders_daily') }}");
      parsed.refs.push({ name: str(e.args[0], 'the model name'), offset: e.start });
      break;
    case 'source':
      if (e.args.length !== 2 || e.kwargs.length) s.fail(e.start, "source() takes a zone and a table: {{ source('raw', 'orders') }}");
      parsed.sources.push({ zone: str(e.args[0], 'the zone'), table: str(e.args[1], 'the table'), offset: e.start });
      break;
    case 'config':
      if (e.args.length) s.fail(e.start, "config() takes key=value settings: {{ config(materialized='table') }}");
      for (const kw of e.kwargs) parsed.config[kw.key] = constant(s, kw.value);
      parsed.configOffset ??= e.start;
      break;
    case 'var':
      if (e.args.length < 1 || e.args.length > 2) s.fail(e.start, "var() takes a name and an optional default: {{ var('days', 7) }}");
      parsed.vars.push(str(e.args[0], 'the variable name'));
      break;
    case 'is_incremental':
      if (e.args.length || e.kwargs.length) s.fail(e.start, 'is_incremental() takes no arguments');
      break;
    default:
      s.fail(e.start, `unknown function ${e.name}(): use one of ${FUNCTIONS.join(', ')}`);
  }
}

function constant(s: TemplateSyntax, e: Expr): Literal {
  if (e.kind === 'lit') return e.value;
  return s.fail(e.start, 'config values must be literals: strings, numbers, true/false, or lists of them');
}

// --- expressions -------------------------------------------------------------------------------

function parseExpr(s: TemplateSyntax, src: string, base: number): Expr {
  const toks: Array<{ t: string; v: string; at: number }> = [];
  const re = /\s+|([A-Za-z_][A-Za-z0-9_]*)|('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?)|([()[\],=])/y;
  let i = 0;
  while (i < src.length) {
    re.lastIndex = i;
    const m = re.exec(src);
    if (!m) s.fail(base + i, `cannot read ${JSON.stringify(src.slice(i, i + 10))} in a template expression`);
    if (m[1]) toks.push({ t: 'id', v: m[1], at: base + i });
    else if (m[2]) toks.push({ t: 'str', v: m[2].slice(1, -1).replace(/\\(.)/g, '$1'), at: base + i });
    else if (m[3]) toks.push({ t: 'num', v: m[3], at: base + i });
    else if (m[4]) toks.push({ t: m[4], v: m[4], at: base + i });
    i = re.lastIndex;
  }
  let k = 0;
  const peek = () => toks[k];
  const end = base + src.length;
  const expect = (t: string) => {
    const tok = toks[k];
    if (tok?.t !== t) s.fail(tok?.at ?? end, `expected ${t}`);
    k++;
  };
  const value = (): Expr => {
    const tok = toks[k++];
    if (!tok) return s.fail(end, 'expected an expression');
    if (tok.t === 'str') return { kind: 'lit', value: tok.v, start: tok.at };
    if (tok.t === 'num') return { kind: 'lit', value: Number(tok.v), start: tok.at };
    if (tok.t === '[') {
      const items: Literal[] = [];
      while (peek() && peek()!.t !== ']') {
        items.push(constant(s, value()));
        if (peek()?.t === ',') k++;
      }
      expect(']');
      return { kind: 'lit', value: items, start: tok.at };
    }
    if (tok.t === 'id') {
      if (tok.v === 'true' || tok.v === 'True') return { kind: 'lit', value: true, start: tok.at };
      if (tok.v === 'false' || tok.v === 'False') return { kind: 'lit', value: false, start: tok.at };
      if (tok.v === 'none' || tok.v === 'None') return { kind: 'lit', value: null, start: tok.at };
      if (tok.v === 'not') return { kind: 'not', expr: value(), start: tok.at };
      if (peek()?.t === '(') {
        k++;
        const args: Expr[] = [];
        const kwargs: Array<{ key: string; value: Expr }> = [];
        while (peek() && peek()!.t !== ')') {
          if (peek()!.t === 'id' && toks[k + 1]?.t === '=') {
            const key = toks[k]!.v;
            k += 2;
            kwargs.push({ key, value: value() });
          } else args.push(value());
          if (peek()?.t === ',') k++;
          else break;
        }
        expect(')');
        return { kind: 'call', name: tok.v, args, kwargs, start: tok.at };
      }
      return { kind: 'name', name: tok.v, start: tok.at };
    }
    return s.fail(tok.at, `unexpected ${JSON.stringify(tok.v)}`);
  };
  const e = value();
  if (k < toks.length) s.fail(toks[k]!.at, `unexpected ${JSON.stringify(toks[k]!.v)} after the expression`);
  return e;
}

// --- rendering ---------------------------------------------------------------------------------

export function renderTemplate(t: ParsedTemplate, ctx: RenderContext): { sql: string; map: SourceMap } {
  const s = new TemplateSyntax(t.text, t.file);
  let out = '';
  const pieces: Array<{ inStart: number; inEnd: number; outLength: number; verbatim: boolean }> = [];
  const evalExpr = (e: Expr): unknown => {
    switch (e.kind) {
      case 'lit':
        return e.value;
      case 'not':
        return !evalExpr(e.expr);
      case 'name':
        if (e.name === 'this') return ctx.this;
        return s.fail(e.start, `unknown name ${e.name}: use this, or a function (${FUNCTIONS.join(', ')})`);
      case 'call': {
        const args = e.args.map(evalExpr);
        switch (e.name) {
          case 'ref':
            return ctx.ref(String(args[0]), e.start);
          case 'source':
            return ctx.source(String(args[0]), String(args[1]), e.start);
          case 'config':
            return '';
          case 'is_incremental':
            return ctx.isIncremental;
          case 'var': {
            const name = String(args[0]);
            if (name in ctx.vars) return ctx.vars[name];
            if (args.length > 1) return args[1];
            return s.fail(e.start, `var('${name}') has no value: pass it with --vars '{"${name}": …}' or give a default, var('${name}', …)`);
          }
        }
        return s.fail(e.start, `unknown function ${e.name}()`);
      }
    }
  };
  const emit = (nodes: Node[]) => {
    for (const n of nodes) {
      if (n.kind === 'text') {
        pieces.push({ inStart: n.start, inEnd: n.end, outLength: n.end - n.start, verbatim: true });
        out += t.text.slice(n.start, n.end);
      } else if (n.kind === 'expr') {
        const v = evalExpr(n.expr);
        const text = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
        pieces.push({ inStart: n.start, inEnd: n.end, outLength: text.length, verbatim: false });
        out += text;
      } else {
        const branch = n.branches.find((b) => b.cond === null || Boolean(evalExpr(b.cond)));
        if (branch) emit(branch.body);
      }
    }
  };
  emit(t.nodes);
  return { sql: out, map: SourceMap.fromPieces(pieces, t.text.length) };
}
