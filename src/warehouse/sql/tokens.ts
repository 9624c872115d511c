/**
 * A lexer for DuckDB SQL (pure): enough to find table references and clauses without being
 * fooled by strings, quoted identifiers, comments or dollar quotes. It never fails — input it
 * does not understand becomes `other` tokens and DuckDB reports the real error later.
 */

export type TokenKind =
  | 'space'
  | 'comment'
  /** Unquoted identifier or keyword; `value` is lower-cased (DuckDB folds unquoted names). */
  | 'word'
  /** `"quoted identifier"`; `value` is the unescaped name. */
  | 'quoted'
  /** `'string'`, `E'…'`, `$tag$…$tag$`; `value` is the unescaped text. */
  | 'string'
  | 'number'
  /** One punctuation character: ( ) , ; . [ ] { } */
  | 'punct'
  /** A run of operator characters: = => < >= || :: … */
  | 'op'
  | 'other';

export interface Token {
  kind: TokenKind;
  /** Offsets into the SQL: [start, end). */
  start: number;
  end: number;
  value: string;
}

const PUNCT = new Set(['(', ')', ',', ';', '.', '[', ']', '{', '}']);
const OP_CHARS = new Set(['=', '<', '>', '!', '|', ':', '+', '-', '*', '/', '%', '^', '~', '&', '#', '@', '?']);

function isIdentStart(ch: string): boolean {
  return /[A-Za-z_\u0080-\uffff]/.test(ch);
}
function isIdentPart(ch: string): boolean {
  return /[A-Za-z0-9_$\u0080-\uffff]/.test(ch);
}

/** Splits SQL into tokens covering every character exactly once. */
export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  const n = sql.length;
  let i = 0;
  const push = (kind: TokenKind, start: number, end: number, value = sql.slice(start, end)) => out.push({ kind, start, end, value });
  while (i < n) {
    const ch = sql[i]!;
    const start = i;
    if (/\s/.test(ch)) {
      while (i < n && /\s/.test(sql[i]!)) i++;
      push('space', start, i);
    } else if (ch === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
      push('comment', start, i);
    } else if (ch === '/' && sql[i + 1] === '*') {
      // Nested block comments, as PostgreSQL and DuckDB allow.
      let depth = 0;
      while (i < n) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else i++;
      }
      push('comment', start, i);
    } else if (ch === "'" || ((ch === 'e' || ch === 'E') && sql[i + 1] === "'")) {
      const escapes = ch !== "'";
      i += escapes ? 2 : 1;
      let value = '';
      while (i < n) {
        const c = sql[i]!;
        if (c === "'" && sql[i + 1] === "'") {
          value += "'";
          i += 2;
        } else if (c === "'") {
          i++;
          break;
        } else if (escapes && c === '\\' && i + 1 < n) {
          value += sql[i + 1];
          i += 2;
        } else {
          value += c;
          i++;
        }
      }
      push('string', start, i, value);
    } else if (ch === '"') {
      i++;
      let value = '';
      while (i < n) {
        if (sql[i] === '"' && sql[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (sql[i] === '"') {
          i++;
          break;
        } else value += sql[i++];
      }
      push('quoted', start, i, value);
    } else if (ch === '$' && /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.test(sql.slice(i, i + 66))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 66))![0];
      const close = sql.indexOf(tag, i + tag.length);
      const end = close < 0 ? n : close + tag.length;
      push('string', start, end, sql.slice(i + tag.length, close < 0 ? n : close));
      i = end;
    } else if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      while (i < n && /[0-9_.]/.test(sql[i]!)) i++;
      if ((sql[i] === 'e' || sql[i] === 'E') && /[0-9+-]/.test(sql[i + 1] ?? '')) {
        i += 2;
        while (i < n && /[0-9]/.test(sql[i]!)) i++;
      }
      push('number', start, i);
    } else if (isIdentStart(ch)) {
      while (i < n && isIdentPart(sql[i]!)) i++;
      push('word', start, i, sql.slice(start, i).toLowerCase());
    } else if (PUNCT.has(ch)) {
      i++;
      push('punct', start, i);
    } else if (OP_CHARS.has(ch)) {
      while (i < n && OP_CHARS.has(sql[i]!) && !(sql[i] === '-' && sql[i + 1] === '-') && !(sql[i] === '/' && sql[i + 1] === '*')) i++;
      push('op', start, i);
    } else {
      i++;
      push('other', start, i);
    }
  }
  return out;
}

/** The tokens that matter for syntax (no spaces or comments). */
export function significant(tokens: readonly Token[]): Token[] {
  return tokens.filter((t) => t.kind !== 'space' && t.kind !== 'comment');
}

/** Identifier value of a word or quoted token, else null. */
export function identOf(t: Token | undefined): string | null {
  if (!t) return null;
  return t.kind === 'word' || t.kind === 'quoted' ? t.value : null;
}
