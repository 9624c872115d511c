/**
 * A PostgreSQL for the lake's manifest tests: the one CI starts (TRIBUTARY_TEST_PG_URL), or —
 * when that is not set — a private cluster this process starts on a free loopback port (as
 * RECIPES.md does) and stops on exit. Tests never skip: if neither works, they fail.
 * Each caller gets its own schema, so tests do not see each other's manifests.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../helpers/tributary-process.ts';

const PGBIN = '/usr/lib/postgresql/15/bin';
let started: Promise<string> | null = null;

function asPostgres(cmd: string): void {
  const r = spawnSync('su', ['postgres', '-s', '/bin/bash', '-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout}`);
}

async function startPrivateCluster(): Promise<string> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-lake-pg-'));
  chmodSync(dir, 0o777);
  execFileSync('chown', ['postgres:postgres', dir]);
  asPostgres(`${PGBIN}/initdb -D ${dir} -U postgres --auth=trust -E UTF8 --no-sync >/dev/null`);
  asPostgres(`${PGBIN}/pg_ctl -D ${dir} -l ${dir}/server.log -o "-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off" -w start >/dev/null`);
  process.once('exit', () => {
    spawnSync('su', ['postgres', '-s', '/bin/bash', '-c', `${PGBIN}/pg_ctl -D ${dir} -m immediate stop`]);
    rmSync(dir, { recursive: true, force: true });
  });
  return `postgres://postgres@127.0.0.1:${port}/postgres`;
}

/** The URL of a PostgreSQL to test against. */
export function postgresUrl(): Promise<string> {
  const fromEnv = process.env['TRIBUTARY_TEST_PG_URL'];
  if (fromEnv) return Promise.resolve(fromEnv);
  return (started ??= startPrivateCluster());
}

let counter = 0;
/** A schema name no other test uses. */
export function uniqueSchema(prefix = 'lake_test'): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
}
