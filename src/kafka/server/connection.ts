/**
 * One client connection: splits the byte stream into size-prefixed frames, decodes each
 * request, runs its handler and writes responses in request order (Kafka clients match
 * responses by order as well as correlation id), while later requests may already be running
 * (a Fetch long poll does not block a Heartbeat on the same connection).
 *
 * States: handshake (only ApiVersions and SASL requests when SASL is required) → ready.
 * A frame that is oversized, truncated or undecodable closes the connection with a log line;
 * the broker itself never goes down for one client's bytes.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { ApiKey, apiByKey } from '../protocol/apis.ts';
import { decodeRequest, encodeResponse } from '../protocol/frames.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { peekRequestHeader } from '../protocol/headers.ts';
import { KafkaError } from './kafka-errors.ts';
import type { BrokerContext, ConnectionState, Principal, RequestContext } from './context.ts';
import { handlers, unsupportedVersionResponse } from './handlers/index.ts';
import type { SaslState } from './handlers/sasl.ts';
import type { KafkaMetrics } from './metrics.ts';

export interface ConnectionOptions {
  maxFrameBytes: number;
  /** Clients must authenticate (SASL) before any request but ApiVersions and the SASL ones. */
  saslRequired: boolean;
  metrics: KafkaMetrics;
}

interface Slot {
  done: boolean;
  response: Buffer | null;
}

const ANONYMOUS: Principal = { name: 'User:ANONYMOUS' };

export class KafkaConnection implements ConnectionState {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly queue: Slot[] = [];
  private closed = false;
  private closeAfterFlush = false;
  private readonly abort = new AbortController();
  principal: Principal = ANONYMOUS;
  readonly sasl: SaslState = { mechanism: null, authenticated: false };
  readonly clientHost: string;

  constructor(
    private readonly socket: Socket,
    private readonly broker: BrokerContext,
    private readonly opts: ConnectionOptions,
    private readonly logger: Logger,
    private readonly onClose: () => void,
  ) {
    this.clientHost = socket.remoteAddress ?? 'unknown';
    opts.metrics.connectionOpened();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.logger.debug({ err, client: this.clientHost }, 'kafka connection error'));
    socket.on('close', () => this.shutdown());
  }

  get isAuthenticated(): boolean {
    return !this.opts.saslRequired || this.sasl.authenticated;
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= 4) {
      const head = this.peek(4);
      const size = head.readInt32BE(0);
      if (size < 0 || size > this.opts.maxFrameBytes) {
        this.fail(`frame of ${size} bytes is outside 0..${this.opts.maxFrameBytes}`);
        return;
      }
      if (this.pendingBytes < 4 + size) return;
      const frame = this.take(4 + size).subarray(4);
      this.dispatch(frame);
      if (this.closed) return;
    }
  }

  private peek(n: number): Buffer {
    if (this.pending[0]!.length >= n) return this.pending[0]!;
    this.pending = [Buffer.concat(this.pending)];
    return this.pending[0]!;
  }

  private take(n: number): Buffer {
    const first = this.pending[0]!;
    if (first.length === n) {
      this.pending.shift();
      this.pendingBytes -= n;
      return first;
    }
    if (first.length > n) {
      this.pending[0] = first.subarray(n);
      this.pendingBytes -= n;
      return first.subarray(0, n);
    }
    const all = Buffer.concat(this.pending);
    this.pending = all.length > n ? [all.subarray(n)] : [];
    this.pendingBytes -= n;
    return all.subarray(0, n);
  }

  private dispatch(frame: Buffer): void {
    if (frame.length < 8) {
      this.fail(`frame of ${frame.length} bytes is too short for a request header`);
      return;
    }
    const { apiKey, apiVersion, correlationId } = peekRequestHeader(frame);
    const api = apiByKey(apiKey);
    if (api && apiKey === ApiKey.ApiVersions && (apiVersion < api.min || apiVersion > api.max)) {
      // KIP-511: answer an unknown ApiVersions version with v0 and UNSUPPORTED_VERSION, so the
      // client learns our range and retries.
      this.enqueue(Promise.resolve(encodeResponse(apiKey, 0, correlationId, unsupportedVersionResponse())));
      return;
    }
    if (!api || apiVersion < api.min || apiVersion > api.max) {
      this.fail(api ? `${api.name} v${apiVersion} is not supported (${api.min}-${api.max})` : `unknown API key ${apiKey}`);
      return;
    }
    let decoded;
    try {
      decoded = decodeRequest(frame);
    } catch (err) {
      this.fail(err instanceof ProtocolError ? err.message : `undecodable ${api.name} v${apiVersion}: ${(err as Error).message}`);
      return;
    }
    if (!this.isAuthenticated && apiKey !== ApiKey.ApiVersions && apiKey !== ApiKey.SaslHandshake && apiKey !== ApiKey.SaslAuthenticate) {
      this.fail(`${api.name} before SASL authentication`);
      return;
    }
    const ctx: RequestContext = { header: decoded.header, principal: this.principal, clientHost: this.clientHost, signal: this.abort.signal };
    const handler = handlers[apiKey]!;
    const started = performance.now();
    const work = (async () => {
      const body = await handler(this.broker, ctx, decoded.body, this);
      // A failed authentication is answered, then the connection is closed (as Kafka does).
      if (body && apiKey === ApiKey.SaslAuthenticate && body.errorCode !== 0) this.closeAfterFlush = true;
      const response = body === null ? null : encodeResponse(apiKey, apiVersion, correlationId, body);
      this.opts.metrics.request(api.name, (performance.now() - started) / 1000, frame.length + 4, response?.length ?? 0);
      return response;
    })();
    this.enqueue(work);
  }

  private enqueue(work: Promise<Buffer | null>): void {
    const slot: Slot = { done: false, response: null };
    this.queue.push(slot);
    work.then(
      (response) => {
        slot.done = true;
        slot.response = response;
        this.flushQueue();
      },
      (err: unknown) => {
        if (err instanceof KafkaError) this.logger.warn({ err }, 'kafka request failed');
        else this.logger.error({ err }, 'kafka request handler crashed');
        this.fail('internal error while handling a request');
      },
    );
  }

  private flushQueue(): void {
    while (this.queue.length > 0 && this.queue[0]!.done) {
      const slot = this.queue.shift()!;
      if (slot.response && !this.closed) this.socket.write(slot.response);
    }
    if (this.closeAfterFlush && this.queue.length === 0) this.close();
  }

  /** Logs why and closes the connection (malformed or unsupported input). */
  fail(reason: string): void {
    if (this.closed) return;
    this.logger.warn({ client: this.clientHost, reason }, 'closing kafka connection');
    this.socket.destroy();
    this.shutdown('protocol_error');
  }

  private shutdown(reason: 'client' | 'protocol_error' = 'client'): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.metrics.connectionClosed(reason);
    this.pending = [];
    this.abort.abort();
    this.onClose();
  }

  close(): void {
    this.socket.end();
    this.shutdown();
  }
}
