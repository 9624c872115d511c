/**
 * A real S3 server on loopback for the lake's S3 store tests: `s3rver` (the only S3 server
 * installable here), in this process, with a fresh directory and one bucket.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
// @ts-expect-error s3rver ships no types
import S3rver from 's3rver';

export interface RunningS3 {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Where s3rver keeps the objects (tests may corrupt or delete them behind the lake's back). */
  directory: string;
  close(): Promise<void>;
}

export async function startS3(bucket = 'lake-test'): Promise<RunningS3> {
  const directory = mkdtempSync(path.join(tmpdir(), 'tributary-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const addr = (await server.run()) as { port: number };
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    directory,
    async close() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
