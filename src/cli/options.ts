import { InvalidArgumentError, type Command } from 'commander';
import { ApiClient, serverUrl } from './client.ts';
import type { CliIo } from './io.ts';

/** A commander argument parser for whole numbers in a range. */
export function intArg(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `expected a whole number ≥ ${min}.` : `expected a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

/** Collects a repeatable option into a list (`--config a=1 --config b=2`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export interface ClientFlags {
  server?: string;
  json?: boolean;
}

/** `--server` and `--json`, shared by every verb that talks to a running server. */
export function clientOptions(cmd: Command): Command {
  return cmd
    .option('--server <url>', 'URL of the running `tributary up` (default: env TRIBUTARY_SERVER or http://localhost:8080)')
    .option('--json', 'print JSON instead of text');
}

export function client(flags: ClientFlags, io: CliIo): ApiClient {
  return new ApiClient(serverUrl(flags.server, io.env));
}
