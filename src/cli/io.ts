/** What a CLI command may touch, so tests can run commands in-process with their own streams. */
import { TributaryError } from '../util/errors.ts';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Whether stdout is a terminal (tables and colours) or a pipe (plain lines). */
  isTTY: boolean;
}

export function processIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    isTTY: Boolean(process.stdout.isTTY),
  };
}

/** An error the CLI reports as `error: <message>` on stderr, exiting with `exitCode`. */
export class CliError extends TributaryError {
  readonly exitCode: number;
  constructor(message: string, opts: { exitCode?: number; code?: string; cause?: unknown } = {}) {
    super(opts.code ?? 'CLI_ERROR', message, { cause: opts.cause });
    this.name = 'CliError';
    this.exitCode = opts.exitCode ?? 1;
  }
}

/** Exit codes: 0 done, 1 failed, 2 bad usage (unknown flag, missing argument, bad value). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
