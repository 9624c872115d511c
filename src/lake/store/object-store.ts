/**
 * Where data files live: the local file system (default) or S3. Keys are relative paths
 * (`raw/orders/dt=2024-05-01/hr=07/part-<uuid>.parquet`); the manifest is the only list of
 * them, so no store is ever listed.
 *
 * `putFile` is the durability point of a data file: when it resolves, the object survives a
 * crash or power cut (fs: file fdatasynced, renamed into place, directory fsynced; S3: PUT
 * acknowledged). Only then may a commit reference it.
 */
export interface ObjectStore {
  readonly kind: 'fs' | 's3';
  /** For messages: `file:///data/lake`, `s3://bucket/prefix`. */
  readonly description: string;
  /** Moves a finished local file into the store under `key`, durably. The local file is consumed. */
  putFile(localPath: string, key: string): Promise<{ bytes: number }>;
  /** A path DuckDB can read: the file itself (fs) or a verified copy in the local cache (S3). */
  localPath(key: string, expectedBytes?: number): Promise<string>;
  /** Size of the object, or null when missing. */
  size(key: string): Promise<number | null>;
  /** Deletes the object; a missing one is not an error. */
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}
