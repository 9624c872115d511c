/**
 * A logical replication connection over `pg` (the I/O edge of CDC; the protocol is pgoutput.ts).
 * `pg` speaks the replication sub-protocol when connected with `replication: 'database'`:
 * commands such as CREATE_REPLICATION_SLOT are simple queries, and START_REPLICATION puts the
 * connection in CopyBoth mode, whose CopyData messages we receive through a submittable query
 * and answer with standby status updates.
 */
import pg from 'pg';
import { decodeFrame, encodeStandbyStatus, formatLsn, type Lsn, type ReplicationFrame } from './pgoutput.ts';
import { quoteIdent } from './values.ts';

interface Handlers {
  frame(f: ReplicationFrame): void;
  error(err: Error): void;
  end(): void;
}

/** The submittable that runs START_REPLICATION and receives the stream. */
class StartReplication {
  constructor(
    readonly text: string,
    private readonly h: Handlers,
  ) {}
  submit(connection: { query(text: string): void }): void {
    connection.query(this.text);
  }
  handleCopyData(msg: { chunk: Buffer }): void {
    let f: ReplicationFrame;
    try {
      f = decodeFrame(msg.chunk);
    } catch (err) {
      this.h.error(err as Error);
      return;
    }
    this.h.frame(f);
  }
  handleError(err: Error): void {
    this.h.error(err);
  }
  handleReadyForQuery(): void {
    this.h.end();
  }
  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}
}

export class ReplicationConnection {
  private streaming = false;
  private closed = false;

  private constructor(private readonly client: pg.Client) {}

  static async connect(url: string): Promise<ReplicationConnection> {
    const client = new pg.Client({ connectionString: url, replication: 'database' } as pg.ClientConfig);
    const conn = new ReplicationConnection(client);
    client.on('error', () => {}); // surfaced through the stream handlers / the next query
    await client.connect();
    return conn;
  }

  /** Creates a pgoutput slot and exports a snapshot consistent with its start (valid until this connection's next command). */
  async createSlot(slot: string): Promise<{ consistentPoint: string; snapshotName: string }> {
    const res = await this.client.query(`CREATE_REPLICATION_SLOT ${quoteIdent(slot)} LOGICAL pgoutput EXPORT_SNAPSHOT`);
    const row = res.rows[0] as { consistent_point: string; snapshot_name: string };
    return { consistentPoint: row.consistent_point, snapshotName: row.snapshot_name };
  }

  /** Starts streaming changes of `publication` after `from`. */
  start(slot: string, publication: string, from: Lsn, handlers: Handlers): void {
    if (this.streaming) throw new Error('replication already started on this connection');
    this.streaming = true;
    const pub = publication.replace(/'/g, "''");
    const sql = `START_REPLICATION SLOT ${quoteIdent(slot)} LOGICAL ${formatLsn(from)} (proto_version '1', publication_names '${pub}')`;
    const conn = (this.client as unknown as { connection: { on(e: string, f: (...a: unknown[]) => void): void } }).connection;
    conn.on('end', () => {
      if (!this.closed) handlers.error(new Error('the replication connection was closed by the server'));
    });
    void this.client.query(new StartReplication(sql, handlers) as unknown as pg.QueryConfig).catch?.(() => {});
  }

  /** Tells the server everything up to `flushed` is done (it may recycle that WAL). */
  sendStatus(flushed: Lsn, replyRequested = false): void {
    if (this.closed) return;
    const conn = (this.client as unknown as { connection: { sendCopyFromChunk(b: Buffer): void } }).connection;
    conn.sendCopyFromChunk(encodeStandbyStatus(flushed, flushed, Date.now(), replyRequested));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.end().catch(() => {});
  }
}
