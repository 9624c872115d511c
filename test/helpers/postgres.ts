/**
 * A real PostgreSQL for tests, never skipped.
 *
 * `testPostgres()` returns the server of this test process: the one `TRIBUTARY_TEST_PG_URL` names
 * (CI starts a private cluster with `wal_level=logical` on 127.0.0.1:55432, see .ci/run), or else a
 * private cluster it starts itself (initdb into a temporary folder owned by the `postgres` user, a
 * free loopback port, `-c wal_level=logical` so logical replication works), stopped when the
 * process exits. Tests isolate themselves with `freshDatabase()`: a new database per test whose
 * `drop()` ends its sessions and replication slots before dropping it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './tributary-process.ts';

export const PG_URL_ENV = 'TRIBUTARY_TEST_PG_URL';

export interface TestPostgres {
  /** Connection URL of the server's `postgres` database. */
  url: string;
  /** Where it came from: the environment variable, or a cluster this process started. */
  origin: 'env' | 'private';
}

export interface TestDatabase {
  name: string;
  url: string;
  /** Ends every session and replication slot of the database and drops it. */
  drop(): Promise<void>;
}

function findPgBin(): string {
  for (const v of ['17', '16', '15', '14', '13']) {
    const dir = `/usr/lib/postgresql/${v}/bin`;
    if (existsSync(path.join(dir, 'initdb'))) return dir;
  }
  throw new Error(
    `PostgreSQL is needed by this test: set ${PG_URL_ENV}=postgres://… or install it (apt-get install -y postgresql; .ci/run does)`,
  );
}

/** Runs a command as the `postgres` user when we are root (initdb refuses to run as root). */
function asPostgres(cmd: string): void {
  const isRoot = process.getuid?.() === 0;
  if (isRoot) execFileSync('su', ['postgres', '-s', '/bin/bash', '-c', cmd], { stdio: 'pipe' });
  else execFileSync('/bin/bash', ['-c', cmd], { stdio: 'pipe' });
}

async function startPrivateCluster(): Promise<TestPostgres> {
  const bin = findPgBin();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-test-pg-'));
  const isRoot = process.getuid?.() === 0;
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dataDir, uid, gid);
  }
  const port = await freePort();
  asPostgres(`${bin}/initdb -D '${dataDir}' -U postgres --auth=trust -E UTF8 --no-sync >/dev/null`);
  const opts = `-p ${port} -k '${dataDir}' -c listen_addresses=127.0.0.1 -c wal_level=logical -c max_replication_slots=32 -c max_wal_senders=32 -c fsync=off`;
  try {
    asPostgres(`${bin}/pg_ctl -D '${dataDir}' -l '${dataDir}/server.log' -w -o "${opts}" start >/dev/null`);
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`could not start a private PostgreSQL: ${(err as Error).message}`);
  }
  process.once('exit', () => {
    const cmd = `${bin}/pg_ctl -D '${dataDir}' -m immediate -w stop`;
    if (isRoot) spawnSync('su', ['postgres', '-s', '/bin/bash', '-c', cmd], { stdio: 'ignore' });
    else spawnSync('/bin/bash', ['-c', cmd], { stdio: 'ignore' });
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, origin: 'private' };
}

let server: Promise<TestPostgres> | null = null;

/** The PostgreSQL server of this test process (started once, on first use). */
export function testPostgres(): Promise<TestPostgres> {
  const fromEnv = process.env[PG_URL_ENV];
  server ??= fromEnv ? Promise.resolve({ url: fromEnv, origin: 'env' as const }) : startPrivateCluster();
  return server;
}

/** Runs one statement on the server's maintenance database. */
async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

let counter = 0;

/** A new, empty database on the test server; `drop()` removes it. */
export async function freshDatabase(prefix = 't'): Promise<TestDatabase> {
  const { url } = await testPostgres();
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`.toLowerCase();
  await admin(url, (c) => c.query(`CREATE DATABASE "${name}"`));
  const u = new URL(url);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    async drop() {
      await admin(url, async (c) => {
        await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        // A slot whose walsender just ended stays active for a moment: retry until it can go.
        for (let i = 0; i < 50; i++) {
          const slots = await c.query<{ slot_name: string; active: boolean }>('SELECT slot_name, active FROM pg_replication_slots WHERE database = $1', [name]);
          if (slots.rows.length === 0) break;
          for (const s of slots.rows) {
            if (s.active) await c.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [s.slot_name]);
            else await c.query('SELECT pg_drop_replication_slot($1)', [s.slot_name]).catch(() => {});
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      });
    },
  };
}

/** Runs `fn` with a connected client of `url`, closing it afterwards. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  return admin(url, fn);
}
