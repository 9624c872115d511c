import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigSourceError, resolveConfig } from '../../src/config/index.ts';
import { tempDirUntilExit as tempDir } from '../helpers/temp-dir.ts';

describe('resolveConfig', () => {
  it('uses the defaults when the default config file is missing', async () => {
    const cwd = await tempDir();
    const cfg = await resolveConfig({}, {}, cwd);
    assert.equal(cfg.configFile, null);
    assert.equal(cfg.http.port, 8080);
    assert.equal(cfg.kafka.port, 9092);
    assert.equal(cfg.dataDir, path.join(cwd, '.tributary'));
    assert.equal(cfg.logLevel, 'info');
    assert.equal(cfg.broker.autoCreateTopics, true);
    assert.deepEqual(cfg.topics, {});
    assert.deepEqual(cfg.generators, []);
  });

  it('fails when an explicitly named config file is missing', async () => {
    const cwd = await tempDir();
    await assert.rejects(resolveConfig({ config: 'missing.ts' }, {}, cwd), (err: ConfigSourceError) => {
      assert.match(err.message, /^missing\.ts: no such file \(named by --config\)/);
      return true;
    });
    await assert.rejects(resolveConfig({}, { TRIBUTARY_CONFIG: 'other.ts' }, cwd), /other\.ts: no such file \(named by TRIBUTARY_CONFIG\)/);
  });

  it('applies flag > environment > config file > default', async () => {
    const cwd = await tempDir();
    await writeFile(
      path.join(cwd, 'tributary.config.ts'),
      `export default { http: { port: 1111, host: '0.0.0.0' }, kafka: { port: 2222 }, dataDir: 'from-file', logLevel: 'warn' };\n`,
    );
    const fileOnly = await resolveConfig({}, {}, cwd);
    assert.equal(fileOnly.configFile, path.join(cwd, 'tributary.config.ts'));
    assert.deepEqual(fileOnly.http, { port: 1111, host: '0.0.0.0' });
    assert.equal(fileOnly.kafka.port, 2222);
    assert.equal(fileOnly.dataDir, path.join(cwd, 'from-file'));
    assert.equal(fileOnly.logLevel, 'warn');

    const env = {
      TRIBUTARY_HTTP_PORT: '3333',
      TRIBUTARY_KAFKA_PORT: '4444',
      TRIBUTARY_DATA_DIR: 'from-env',
      TRIBUTARY_LOG_LEVEL: 'debug',
    };
    const withEnv = await resolveConfig({}, env, cwd);
    assert.equal(withEnv.http.port, 3333);
    assert.equal(withEnv.http.host, '0.0.0.0');
    assert.equal(withEnv.kafka.port, 4444);
    assert.equal(withEnv.dataDir, path.join(cwd, 'from-env'));
    assert.equal(withEnv.logLevel, 'debug');

    const withFlags = await resolveConfig({ httpPort: 5555, kafkaPort: '6666', dataDir: 'from-flag', logLevel: 'error' }, env, cwd);
    assert.equal(withFlags.http.port, 5555);
    assert.equal(withFlags.kafka.port, 6666);
    assert.equal(withFlags.dataDir, path.join(cwd, 'from-flag'));
    assert.equal(withFlags.logLevel, 'error');
  });

  it('reads the config file named by TRIBUTARY_CONFIG and resolves its dataDir against its folder', async () => {
    const cwd = await tempDir();
    const project = await tempDir();
    await writeFile(path.join(project, 'p.config.ts'), `export default { dataDir: './state' };\n`);
    const cfg = await resolveConfig({}, { TRIBUTARY_CONFIG: path.join(project, 'p.config.ts') }, cwd);
    assert.equal(cfg.dataDir, path.join(project, 'state'));
  });

  it('names the environment variable that holds a bad value', async () => {
    const cwd = await tempDir();
    await assert.rejects(resolveConfig({}, { TRIBUTARY_HTTP_PORT: 'http' }, cwd), (err: ConfigSourceError) => {
      assert.equal(err.message, 'env TRIBUTARY_HTTP_PORT: expected a port number from 0 to 65535, got "http"');
      return true;
    });
    await assert.rejects(resolveConfig({}, { TRIBUTARY_KAFKA_PORT: '70000' }, cwd), /env TRIBUTARY_KAFKA_PORT: expected a port number/);
    await assert.rejects(resolveConfig({}, { TRIBUTARY_LOG_LEVEL: 'verbose' }, cwd), /env TRIBUTARY_LOG_LEVEL: expected one of fatal, error/);
  });
});
