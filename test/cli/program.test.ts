import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { parseTopicConfigPairs } from '../../src/cli/commands/topics.ts';
import { runCliCaptured } from '../helpers/cli.ts';

/** Every verb and the options its help must mention. */
const VERBS: Array<{ argv: string[]; mentions: string[] }> = [
  { argv: ['up'], mentions: ['--config <file>', '--http-port', '--kafka-port', '--data-dir', '--log-level', '--json', 'tributary ready'] },
  { argv: ['init'], mentions: ['[dir]', '--force', '--json'] },
  { argv: ['topics'], mentions: ['create', 'list', 'describe', 'delete'] },
  { argv: ['topics', 'create'], mentions: ['<name>', '--partitions', '--config <key=value>', '--server <url>', '--json'] },
  { argv: ['topics', 'list'], mentions: ['--internal', '--server <url>', '--json'] },
  { argv: ['topics', 'describe'], mentions: ['<name>', '--server <url>', '--json'] },
  { argv: ['topics', 'delete'], mentions: ['<name>', '--server <url>', '--json'] },
  { argv: ['produce'], mentions: ['<topic>', '--key-separator', '--partition', '--header', '--server <url>', '--json'] },
  {
    argv: ['consume'],
    mentions: ['<topics...>', '--group', '--from-beginning', '--max-messages', '--timeout-ms', '--print-key', '--server <url>', '--json'],
  },
  { argv: ['groups'], mentions: ['list', 'describe'] },
  { argv: ['groups', 'list'], mentions: ['--server <url>', '--json'] },
  { argv: ['groups', 'describe'], mentions: ['<group>', '--server <url>', '--json'] },
];

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('tributary CLI', () => {
  for (const { argv, mentions } of VERBS) {
    it(`${argv.join(' ')} --help describes the verb`, async () => {
      const run = await runCliCaptured([...argv, '--help']);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^Usage: tributary ${argv.join(' ')} `));
      for (const m of mentions) assert.ok(run.stdout.includes(m), `help of ${argv.join(' ')} mentions ${m}:\n${run.stdout}`);
      assert.equal(run.stderr, '');
    });
  }

  it('prints the overview without arguments and the version with -V', async () => {
    const help = await runCliCaptured([]);
    assert.equal(help.code, 0);
    for (const verb of ['up', 'init', 'topics', 'produce', 'consume', 'groups']) assert.match(help.stdout, new RegExp(`^  ${verb} `, 'm'));
    const version = await runCliCaptured(['-V']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('exits 2 with a message on bad usage', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['topics', 'create'], /missing required argument 'name'/],
      [['topics', 'create', 'orders', '--partitions', '0'], /--partitions <n>' argument '0' is invalid\. expected a whole number ≥ 1/],
      [['topics', 'list', '--bogus'], /unknown option '--bogus'/],
      [['up', '--http-port', 'eighty'], /--http-port <port>' argument 'eighty' is invalid/],
      [['up', '--log-level', 'loud'], /Allowed choices are fatal, error, warn, info, debug, trace, silent/],
      [['consume', 'orders', '--offset', '5'], /--offset needs --partition/],
      [['topics', 'create', 'orders', '--config', 'retention'], /expected key=value/],
      [['topics', 'list', '--server', 'localhost'], /--server: expected an http:\/\/ or https:\/\/ URL|--server: expected a URL/],
    ];
    for (const [argv, message] of cases) {
      const run = await runCliCaptured(argv);
      assert.equal(run.code, 2, `${argv.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.equal(run.stdout, '');
    }
  });

  it('says how to fix an unreachable server, naming --server and TRIBUTARY_SERVER', async () => {
    const port = await closedPort();
    for (const argv of [
      ['topics', 'list', '--server', `http://127.0.0.1:${port}`],
      ['groups', 'list'],
      ['produce', 'orders'],
      ['consume', 'orders', '--max-messages', '1'],
    ]) {
      const run = await runCliCaptured(argv, { env: { TRIBUTARY_SERVER: `http://127.0.0.1:${port}` }, stdin: 'a\nb\n' });
      assert.equal(run.code, 1, argv.join(' '));
      assert.match(run.stderr, new RegExp(`^error: .*cannot reach http://127\\.0\\.0\\.1:${port} .*is \`tributary up\` running\\? \\(--server / TRIBUTARY_SERVER\\)`, 'm'));
    }
  });

  it('fails `up` with the config file and field path when the config is invalid', async () => {
    const run = await runCliCaptured(['up', '--config', 'test/cli/fixtures/bad.config.ts']);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, 'error: test/cli/fixtures/bad.config.ts: topics.orders.partitions: expected a whole number ≥ 1, got 0\n');
  });

  it('fails `up` when the named config file does not exist', async () => {
    const run = await runCliCaptured(['up', '--config', 'no/such/tributary.config.ts']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error: no\/such\/tributary\.config\.ts: no such file \(named by --config\)/);
  });
});

describe('topics create --config', () => {
  it('accepts Kafka names and camelCase, and -1/none for no limit', () => {
    assert.deepEqual(
      parseTopicConfigPairs(['retention.ms=86400000', 'cleanup.policy=compact', 'segmentBytes=1048576', 'retention.bytes=-1', 'segment.ms=none', 'ack.policy=relaxed']),
      { retentionMs: 86400000, cleanupPolicy: 'compact', segmentBytes: 1048576, retentionBytes: null, segmentMs: null, ackPolicy: 'relaxed' },
    );
  });

  it('rejects unknown keys and non-numbers', () => {
    assert.throws(() => parseTopicConfigPairs(['retention.hours=3']), /unknown topic setting "retention.hours"/);
    assert.throws(() => parseTopicConfigPairs(['retention.ms=1d']), /retention.ms: expected a whole number, got "1d"/);
  });
});
