/**
 * Logs of `tributary up`: pino, to stderr. `json` writes pino's lines unchanged (for log
 * shippers); `pretty` (the default on a terminal) writes `12:00:01.234 INFO  message key=value`.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/types.ts';

export type LogFormat = 'pretty' | 'json';

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'err']);

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

/** Turns one pino JSON line into a human line. */
export function prettyLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof o['time'] === 'number' ? new Date(o['time']).toISOString().slice(11, 23) : '';
  const level = (LEVEL_NAMES[o['level'] as number] ?? String(o['level'])).padEnd(5);
  const fields = Object.entries(o)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(' ');
  let out = `${time} ${level} ${String(o['msg'] ?? '')}${fields ? ' ' + fields : ''}\n`;
  const err = o['err'] as { message?: string; stack?: string } | undefined;
  if (err) out += `  ${(err.stack ?? err.message ?? '').split('\n').join('\n  ')}\n`;
  return out;
}

export function createLogger(opts: { level: LogLevel; format: LogFormat; write?: (text: string) => void }): Logger {
  const write = opts.write ?? ((t: string) => void process.stderr.write(t));
  const dest: DestinationStream =
    opts.format === 'json' ? { write: (l: string) => write(l) } : { write: (l: string) => write(prettyLine(l)) };
  return pino({ level: opts.level, base: opts.format === 'json' ? { pid: process.pid } : null }, dest);
}
