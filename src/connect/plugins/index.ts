/** The built-in connector plugins. */
import type { ConnectorPlugin } from '../types.ts';
import { fileSinkPlugin } from './file/sink.ts';
import { fileSourcePlugin } from './file/source.ts';
import { generatorSourcePlugin } from './generator/plugin.ts';
import { httpIngestPlugin, IngestRouter } from './http/ingest.ts';
import { webhookSinkPlugin } from './http/webhook-sink.ts';
import { postgresSinkPlugin } from './postgres/sink.ts';
import { postgresSourcePlugin } from './postgres/source.ts';

export { IngestRouter, ingestHandler, httpIngestPlugin } from './http/ingest.ts';
export { fileSourcePlugin, fileSinkPlugin, generatorSourcePlugin, webhookSinkPlugin, postgresSourcePlugin, postgresSinkPlugin };

/** Every built-in plugin; `router` connects the HTTP ingest plugin to its endpoint. */
export function builtinPlugins(router: IngestRouter): ConnectorPlugin[] {
  return [httpIngestPlugin(router), fileSourcePlugin, fileSinkPlugin, webhookSinkPlugin, postgresSourcePlugin, postgresSinkPlugin, generatorSourcePlugin];
}
