/**
 * PostgreSQL for flow tests, never skipped: CI starts a private cluster and sets
 * TRIBUTARY_TEST_PG_URL; without it this helper starts its own private cluster (initdb into a
 * temporary folder, loopback only, a free port other than CI's 55432), as RECIPES.md shows.
 * Each test gets a fresh database, dropped afterwards.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

const PGBIN = process.env['TRIBUTARY_PGBIN'] ?? '/usr/lib/postgresql/15/bin';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port === 55432 ? freePort() : port;
}

function asPostgres(cmd: string): void {
  const r = spawnSync('su', ['postgres', '-s', '/bin/bash', '-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}\nfailed (${r.status}): ${r.stderr}${r.stdout}`);
}

export interface PrivateCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  dataDir: string;
  /** `pg_ctl restart -m fast`: every connection is cut, the server comes back on the same port. */
  restart(): void;
  stop(): void;
}

/** Starts a private cluster (about 2 s) that this process owns. */
export async function startPrivateCluster(): Promise<PrivateCluster> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-pg-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  chownSync(dataDir, uid, gid);
  const port = await freePort();
  asPostgres(`${PGBIN}/initdb -D '${dataDir}' -U postgres --auth=trust -E UTF8 --no-sync >/dev/null`);
  const opts = `-p ${port} -k '${dataDir}' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  asPostgres(`${PGBIN}/pg_ctl -D '${dataDir}' -l '${dataDir}/server.log' -o "${opts}" -w start >/dev/null`);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      asPostgres(`${PGBIN}/pg_ctl -D '${dataDir}' -m immediate -w stop >/dev/null`);
    } catch {
      // already gone
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    restart() {
      asPostgres(`${PGBIN}/pg_ctl -D '${dataDir}' -l '${dataDir}/server.log' -o "${opts}" -m fast -w restart >/dev/null`);
    },
    stop,
  };
}

let shared: Promise<string> | null = null;

/** The server tests use: CI's (TRIBUTARY_TEST_PG_URL) or one private cluster for this process. */
function serverUrl(): Promise<string> {
  const fromEnv = process.env['TRIBUTARY_TEST_PG_URL'];
  if (fromEnv) return Promise.resolve(fromEnv);
  shared ??= startPrivateCluster().then((c) => c.url);
  return shared;
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database on the test server. */
export async function freshDatabase(prefix = 'flow'): Promise<TestDatabase> {
  return freshDatabaseOn(await serverUrl(), prefix);
}

export async function freshDatabaseOn(server: string, prefix = 'flow'): Promise<TestDatabase> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(server, name),
    async drop() {
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
