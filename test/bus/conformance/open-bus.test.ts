/**
 * Choosing the bus by configuration (`openBus`, `broker.external`), the external bus's own
 * behaviours outside the shared suite (share groups unsupported, SASL, unreachable clusters),
 * and `tributary up` (startTributary) on an external cluster.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { BusError, openBus, openExternalBus } from '../../../src/bus/index.ts';
import { resolveConfig, validateConfig } from '../../../src/config/index.ts';
import { startTributary } from '../../../src/server/instance.ts';
import { ConfigError } from '../../../src/util/errors.ts';
import { startTestBroker } from '../../helpers/kafka-broker.ts';
import { tempDir, tempDirUntilExit } from '../../helpers/temp-dir.ts';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function configError(path: string, message?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
    assert.equal(err.path, path);
    if (message) assert.match(err.message, message);
    return true;
  };
}

describe('openBus', () => {
  it('opens the embedded bus by default and the external one when broker.external is set', async () => {
    const { dir, cleanup } = tempDir();
    const embedded = await openBus({ dataDir: dir, broker: { autoCreateTopics: false } });
    assert.equal(embedded.kind, 'embedded');
    await assert.rejects(embedded.producer().send('nope', [{ value: null }]), { code: 'TOPIC_UNKNOWN' });
    await embedded.close();
    cleanup();

    const broker = await startTestBroker();
    try {
      const external = await openBus({ broker: { external: { brokers: [broker.bootstrap] }, defaultTopicConfig: { retentionMs: 60_000 } } });
      assert.equal(external.kind, 'external');
      const t = await external.admin().createTopic('via-config', { partitions: 2 });
      assert.equal(t.config.retentionMs, 60_000, 'defaultTopicConfig applies to created topics');
      assert.equal(broker.bus.log.partitionCount('via-config'), 2, 'the topic lives in the cluster');
      // Auto-creation (on by default) is asked of the cluster.
      await external.producer().send('auto-made', [{ value: Buffer.from('x') }]);
      assert.ok(broker.bus.log.hasTopic('auto-made'));
      await external.close();
    } finally {
      await broker.close();
    }
  });

  it('rejects a bad external config with the path of the field', async () => {
    await assert.rejects(openBus({ broker: { external: { brokers: [] } } }), configError('broker.external.brokers', /at least one/));
    await assert.rejects(openBus({ broker: { external: { brokers: ['localhost'] } } }), configError('broker.external.brokers[0]', /host:port/));
    await assert.rejects(openBus({ broker: { external: { brokers: ['h:99999'] } } }), configError('broker.external.brokers[0]', /1 to 65535/));
    await assert.rejects(
      openBus({ broker: { external: { brokers: ['h:9092'], sasl: { mechanism: 'GSSAPI' as 'PLAIN', username: 'u', password: 'p' } } } }),
      configError('broker.external.sasl.mechanism', /"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"/),
    );
    await assert.rejects(openBus({ broker: { external: { brokers: ['h:9092'], bootstrap: 'x' } as never } }), configError('broker.external.bootstrap', /unknown field/));
    await assert.rejects(openBus({}), configError('dataDir'));
  });

  it('fails fast with BROKER_UNAVAILABLE when no bootstrap broker answers', async () => {
    const port = await closedPort();
    await assert.rejects(openExternalBus({ cluster: { brokers: [`127.0.0.1:${port}`], connectTimeoutMs: 2000 } }), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.equal((err as { code?: string }).code, 'BROKER_UNAVAILABLE');
      assert.equal((err as { retriable?: boolean }).retriable, true);
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      return true;
    });
  });

  it('authenticates with SASL PLAIN, and says so when the password is wrong', async () => {
    const broker = await startTestBroker({ sasl: { mechanisms: ['PLAIN'], users: { app: 'secret' } } });
    try {
      const bus = await openExternalBus({ cluster: { brokers: [broker.bootstrap], sasl: { mechanism: 'PLAIN', username: 'app', password: 'secret' } } });
      await bus.admin().createTopic('secured', { partitions: 1 });
      const [m] = await bus.producer({ lingerMs: 0 }).send('secured', [{ value: Buffer.from('hi') }]);
      assert.equal(m!.offset, 0);
      await bus.close();
      await assert.rejects(
        openExternalBus({ cluster: { brokers: [broker.bootstrap], sasl: { mechanism: 'PLAIN', username: 'app', password: 'wrong' } } }),
        { code: 'AUTHENTICATION_FAILED' },
      );
    } finally {
      await broker.close();
    }
  });

  it('share consumers are unsupported on an external cluster, with a typed BusError', async () => {
    const broker = await startTestBroker();
    try {
      const bus = await openExternalBus({ cluster: { brokers: [broker.bootstrap] } });
      const share = bus.shareConsumer({ groupId: 'queue' });
      await assert.rejects(share.subscribe(['jobs']), (err: unknown) => {
        assert.ok(err instanceof BusError);
        assert.equal(err.code, 'UNSUPPORTED');
        assert.match(err.message, /share consumers .* not available with an external Kafka cluster/);
        return true;
      });
      await assert.rejects(share.poll(), { code: 'UNSUPPORTED' });
      await share.close();
      await bus.close();
    } finally {
      await broker.close();
    }
  });
});

describe('broker.external in the config', () => {
  it('is validated with the field path, and resolved as given', async () => {
    assert.throws(() => validateConfig({ broker: { external: { brokers: ['k:9092'], ssl: 'yes' } } }, 'inline'), /inline: broker\.external\.ssl: expected true, false or TLS settings/);
    assert.throws(() => validateConfig({ broker: { external: { brokers: ['k:9092'], ssl: { ca: 1 } } } }, 'inline'), /broker\.external\.ssl\.ca: expected a PEM certificate/);
    assert.throws(() => validateConfig({ broker: { external: { brokers: ['k:9092'], ssl: { cafile: 'x' } } } }, 'inline'), /broker\.external\.ssl.*unknown TLS setting "cafile"/);
    assert.throws(() => validateConfig({ broker: { external: { brokers: 'k:9092' } } }, 'inline'), /broker\.external\.brokers: expected a list of "host:port"/);
    const external = { brokers: ['k1:9092', '[::1]:9093'], clientId: 'etl', sasl: { mechanism: 'SCRAM-SHA-512' as const, username: 'u', password: 'p' }, ssl: { rejectUnauthorized: false }, replicationFactor: 3 };
    assert.deepEqual(validateConfig({ broker: { external } }, 'inline').broker?.external, external);
    const cwd = await tempDirUntilExit();
    await writeFile(path.join(cwd, 'tributary.config.ts'), `export default { broker: { external: { brokers: ['kafka:9092'] } } };\n`);
    assert.deepEqual((await resolveConfig({}, {}, cwd)).broker.external, { brokers: ['kafka:9092'] });
    assert.equal((await resolveConfig({}, {}, await tempDirUntilExit())).broker.external, null);
  });

  it('tributary up on an external cluster: no embedded log, no Kafka listener, topics in the cluster', async () => {
    const broker = await startTestBroker();
    const cwd = await tempDirUntilExit();
    await writeFile(
      path.join(cwd, 'tributary.config.ts'),
      `export default { broker: { external: { brokers: ['${broker.bootstrap}'] } }, topics: { payments: { partitions: 3 } }, http: { port: 0 } };\n`,
    );
    const config = await resolveConfig({}, {}, cwd);
    const instance = await startTributary(config, { logger: pino({ level: 'silent' }) });
    try {
      assert.equal(instance.bus.kind, 'external');
      assert.equal(instance.kafkaAddress, broker.bootstrap, 'Kafka clients are pointed at the cluster');
      assert.equal(broker.bus.log.partitionCount('payments'), 3, 'config topics are created in the cluster');
      assert.equal(existsSync(path.join(config.dataDir, 'log')), false, 'no embedded log in the data directory');
      const ready = (await (await fetch(`${instance.httpUrl}/ready`)).json()) as { ready: boolean; parts: Record<string, { state: string; detail?: string }> };
      assert.equal(ready.ready, true);
      assert.equal(ready.parts['kafka']!.state, 'disabled');
      assert.match(ready.parts['kafka']!.detail ?? '', /broker\.external/);
      assert.equal(ready.parts['bus']!.state, 'ready');
      const topics = (await (await fetch(`${instance.httpUrl}/api/topics`)).json()) as unknown;
      assert.match(JSON.stringify(topics), /payments/, 'the HTTP API works over the external bus');
    } finally {
      await instance.close();
      await broker.close();
    }
  });
});
