import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeFileSystem } from '../../src/log/fs/node-file-system.ts';
import { tempDir } from '../helpers/temp-dir.ts';

test('a closed file handle refuses every operation instead of using a descriptor the OS has reused', async () => {
  const tmp = tempDir('tributary-fs-');
  try {
    const fs = new NodeFileSystem();
    const a = fs.open(`${tmp.dir}/a`, { create: true });
    a.write(Buffer.from('AAAA'), 0, 4, 0);
    a.close();
    // The next open very likely gets a's descriptor number back.
    const b = fs.open(`${tmp.dir}/b`, { create: true });
    b.write(Buffer.from('BBBB'), 0, 4, 0);
    const buf = Buffer.alloc(4);
    assert.throws(() => a.read(buf, 0, 4, 0), { code: 'EBADF' });
    assert.throws(() => a.write(Buffer.from('XX'), 0, 2, 0), { code: 'EBADF' });
    assert.throws(() => a.truncate(0), { code: 'EBADF' });
    assert.throws(() => a.size(), { code: 'EBADF' });
    await assert.rejects(a.datasync(), { code: 'EBADF' });
    b.read(buf, 0, 4, 0);
    assert.equal(buf.toString(), 'BBBB', "b's content was not touched through a's stale descriptor");
    b.close();
  } finally {
    tmp.cleanup();
  }
});
