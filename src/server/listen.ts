import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { TributaryError } from '../util/errors.ts';
import type { HttpApp } from './app.ts';

export interface HttpServerOptions {
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  logger?: Logger;
  /** After close() starts, connections still busy this long are cut (default 5 s). */
  shutdownGraceMs?: number;
}

export interface RunningHttpServer {
  /** `http://host:port`, with the port actually bound. */
  url: string;
  host: string;
  port: number;
  /** Stops accepting, closes the app (ending long polls), then waits for open requests. */
  close(): Promise<void>;
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Serves an HTTP app on a TCP port. Rejects with a TributaryError that says what to do when
 * the port is taken or the address cannot be bound.
 *
 * @example
 * ```ts
 * const server = await startHttpServer(createHttpApp({ bus }), { port: 0 });
 * console.log(server.url);
 * await server.close();
 * ```
 */
export async function startHttpServer(http: HttpApp, opts: HttpServerOptions = {}): Promise<RunningHttpServer> {
  const host = opts.host ?? '127.0.0.1';
  const wanted = opts.port ?? 8080;
  const server = createAdaptorServer({ fetch: http.app.fetch }) as Server;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(new TributaryError('PORT_IN_USE', `cannot listen on ${host}:${wanted}: the port is in use; stop the other process or choose another port (--http-port / TRIBUTARY_HTTP_PORT)`, { cause: err }));
      } else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EACCES') {
        reject(new TributaryError('LISTEN_FAILED', `cannot listen on ${host}:${wanted} (${err.code}): check http.host and the port in the config`, { cause: err }));
      } else {
        reject(err);
      }
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(wanted, host);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${urlHost(host)}:${port}`;
  opts.logger?.info({ url }, 'HTTP API listening');

  let closed: Promise<void> | null = null;
  return {
    url,
    host,
    port,
    close() {
      closed ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await http.close();
        server.closeIdleConnections();
        const grace = setTimeout(() => server.closeAllConnections(), opts.shutdownGraceMs ?? 5000);
        grace.unref();
        await stopped;
        clearTimeout(grace);
      })();
      return closed;
    },
  };
}
