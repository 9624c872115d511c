/**
 * Error positions (pure). DuckDB appends to an error the line of the SQL it ran with a caret:
 *
 *     Binder Error: Referenced column "nope" not found in FROM clause!
 *
 *     LINE 2:   nope FROM raw.orders
 *               ^
 *
 * (a long line is cut to a window around the error, with `...` at a cut end). We recover the
 * offset in the SQL DuckDB ran, map it back through the rewrites to the SQL the user wrote, and
 * render our own pointer there — with the line number in the user's text or model file.
 */
import type { SqlPosition } from '../errors.ts';
import type { SourceMap } from './source-map.ts';

export interface DuckdbErrorParts {
  /** `Parser Error`, `Binder Error`, `Catalog Error`, … (null when the message has no prefix). */
  type: string | null;
  /** The message without DuckDB's `LINE n:` context. */
  message: string;
  /** Offset in the SQL DuckDB ran, when it reported a position. */
  offset: number | null;
}

const CONTEXT = /\n\nLINE (\d+): (.*)\n( *)\^\s*$/;

export function parseDuckdbError(rawMessage: string, executedSql: string): DuckdbErrorParts {
  // The Node binding prefixes what failed: `Failed to extract statements: Parser Error: …`.
  const raw = rawMessage.replace(/^(Failed to [a-z ]+: )+/, '');
  const typeMatch = /^([A-Z][A-Za-z ]*? Error): /.exec(raw);
  const type = typeMatch ? typeMatch[1]! : null;
  const m = CONTEXT.exec(raw);
  if (!m) return { type, message: raw.trim(), offset: null };
  const message = raw.slice(0, m.index).trim();
  const line = Number(m[1]);
  let shown = m[2]!;
  let caret = m[3]!.length - `LINE ${m[1]}: `.length;
  if (shown.startsWith('...')) {
    shown = shown.slice(3);
    caret -= 3;
  }
  if (shown.endsWith('...')) shown = shown.slice(0, -3);
  const lines = executedSql.split('\n');
  const lineText = lines[line - 1];
  if (lineText === undefined || caret < 0) return { type, message, offset: null };
  let lineStart = 0;
  for (let i = 0; i < line - 1; i++) lineStart += lines[i]!.length + 1;
  const at = lineText.indexOf(shown);
  const within = (at < 0 ? 0 : at) + caret;
  return { type, message, offset: lineStart + Math.min(within, lineText.length) };
}

export function positionAt(text: string, offset: number, file?: string): SqlPosition {
  const clamped = Math.max(0, Math.min(offset, text.length));
  const before = text.slice(0, clamped);
  const line = before.split('\n').length;
  const column = clamped - (before.lastIndexOf('\n') + 1) + 1;
  return { line, column, offset: clamped, ...(file !== undefined ? { file } : {}) };
}

/**
 * Two lines pointing at `pos` in `text`:
 * ```
 *   2 |   nope FROM raw.orders
 *     |   ^
 * ```
 * Long lines are cut to a window of about 100 characters around the position.
 */
export function caretContext(text: string, pos: SqlPosition): string {
  const lineText = (text.split('\n')[pos.line - 1] ?? '').replace(/\t/g, ' ');
  let col = pos.column - 1;
  let shown = lineText;
  const WIDTH = 100;
  if (lineText.length > WIDTH) {
    const from = Math.max(0, Math.min(col - WIDTH / 2, lineText.length - WIDTH));
    shown = (from > 0 ? '…' : '') + lineText.slice(from, from + WIDTH) + (from + WIDTH < lineText.length ? '…' : '');
    col = col - from + (from > 0 ? 1 : 0);
  }
  const gutter = String(pos.line);
  return `${gutter} | ${shown}\n${' '.repeat(gutter.length)} | ${' '.repeat(Math.max(0, col))}^`;
}

/**
 * The message to show for a DuckDB error on `executedSql`, positioned in `original` through
 * `map` (executed → original). Returns the message with a `at line L, column C:` pointer.
 */
export function locateError(
  raw: string,
  executedSql: string,
  original: string,
  map: SourceMap | null,
  file?: string,
): { type: string | null; message: string; position: SqlPosition | undefined } {
  const parts = parseDuckdbError(raw, executedSql);
  if (parts.offset === null) return { type: parts.type, message: parts.message, position: undefined };
  const inOriginal = map ? map.toInput(parts.offset) : parts.offset;
  const position = positionAt(original, inOriginal, file);
  const where = `${file ? `${file}:` : ''}line ${position.line}, column ${position.column}`;
  return { type: parts.type, message: `${parts.message}\n  at ${where}:\n${indent(caretContext(original, position), '    ')}`, position };
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}
