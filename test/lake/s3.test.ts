/**
 * The lake on S3 (a real S3 server, s3rver, on loopback) with both manifest backends: commits
 * upload Parquet files, readers go through the local cache, compaction and expiry work on
 * objects, and a missing object is reported — the bucket is never listed.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LakeError, type Lake } from '../../src/lake/index.ts';
import { BACKENDS, count, freshLake, parquet } from './helpers/lake.ts';
import { startS3, type RunningS3 } from './helpers/s3.ts';

for (const backend of BACKENDS) {
  describe(`lake on S3 (${backend} manifest)`, () => {
    let s3: RunningS3;
    let lake: Lake;
    before(async () => {
      s3 = await startS3();
      lake = await freshLake(backend, {
        s3: { bucket: s3.bucket, prefix: 'lake/', endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      });
      await lake.createTable('raw.clicks', {
        columns: [{ name: 'id', type: 'int64' }, { name: 'url', type: 'string' }],
        partitionBy: [{ name: 'dt', transform: 'identity' }],
      });
    });
    after(async () => {
      await lake.close();
      await s3.close();
    });

    test('commits upload objects; scans read them through the cache, downloading what is missing', async () => {
      for (let k = 0; k < 4; k++) {
        await lake.append('raw.clicks', [{ localPath: await parquet(lake, `SELECT (${k * 100} + range)::BIGINT AS id, 'https://x/' || range AS url FROM range(100)`), partition: { dt: '2024-05-01' } }]);
      }
      assert.equal(lake.store.kind, 's3');
      const files = await lake.files('raw.clicks');
      assert.equal(files.length, 4);
      for (const f of files) assert.equal(await lake.store.size(f.key), f.bytes);
      assert.equal(await count(lake, 'raw.clicks'), 400);
      // An empty cache: the scan downloads every object again.
      rmSync(path.join(lake.root, '_cache'), { recursive: true, force: true });
      const scan = await lake.scan('raw.clicks');
      for (const f of scan.files) {
        assert.ok(f.localPath.startsWith(path.join(lake.root, '_cache')), f.localPath);
        assert.ok(existsSync(f.localPath));
        assert.match(f.localPath, /\/lake\/_cache\/raw\/clicks\/dt=2024-05-01\/part-/);
      }
      assert.equal(await count(lake, 'raw.clicks'), 400);
      assert.deepEqual(await lake.verify(), []);
    });

    test('compaction and expiry work on objects', async () => {
      const old = await lake.files('raw.clicks');
      const res = await lake.compact({ table: 'raw.clicks', targetFileBytes: 1 << 20 });
      assert.equal(res.tables[0]!.inputFiles, 4);
      assert.equal((await lake.files('raw.clicks')).length, 1);
      assert.equal(await count(lake, 'raw.clicks'), 400);
      const exp = await lake.expire({ olderThanMs: 0, fileGraceMs: 0 });
      assert.equal(exp.deletedFiles, 4);
      for (const f of old) assert.equal(await lake.store.size(f.key), null, `${f.key} was deleted from the bucket`);
      assert.equal(await count(lake, 'raw.clicks'), 400);
    });

    test('an object deleted behind the lake\'s back is reported, not silently skipped', async () => {
      const [f] = await lake.files('raw.clicks');
      const client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
      await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: `lake/${f!.key}` }));
      client.destroy();
      assert.deepEqual(await lake.verify(), [{ key: f!.key, problem: 'missing' }]);
      rmSync(path.join(lake.root, '_cache'), { recursive: true, force: true });
      await assert.rejects(lake.scan('raw.clicks'), (err: unknown) => err instanceof LakeError && err.code === 'LAKE_FILE_MISSING');
    });
  });
}
