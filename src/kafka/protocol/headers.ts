/**
 * Request and response headers. A request header is v2 (with tagged fields) when the request
 * version is flexible, else v1; the ClientId is always a classic, non-compact nullable string.
 * A response header is v1 when the response is flexible, else v0 — except ApiVersions, whose
 * response header is always v0 so a client can parse it before it knows our versions.
 */
import { Reader, Writer } from './buffers.ts';
import { decodeMessage, encodeMessage, isFlexible } from './codec.ts';
import { field, message } from './schema.ts';
import type { ApiSchema } from './schema.ts';
import { ApiKey } from './apis.ts';

const RequestHeader = message(-1, 'RequestHeader', '0-2', '2+', [
  field('RequestApiKey', 'int16', '0+'),
  field('RequestApiVersion', 'int16', '0+'),
  field('CorrelationId', 'int32', '0+'),
  field('ClientId', 'string', '1+', { nullable: '1+', neverFlexible: true }),
]);

const ResponseHeader = message(-1, 'ResponseHeader', '0-1', '1+', [field('CorrelationId', 'int32', '0+')]);

export interface RequestHeaderValue {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** Reads the fixed start of any request (key, version, correlation id) without knowing the API. */
export function peekRequestHeader(frame: Buffer): { apiKey: number; apiVersion: number; correlationId: number } {
  const r = new Reader(frame);
  return { apiKey: r.int16(), apiVersion: r.int16(), correlationId: r.int32() };
}

export function requestHeaderVersion(api: ApiSchema, version: number): number {
  return isFlexible(api.request, version) ? 2 : 1;
}

export function responseHeaderVersion(api: ApiSchema, version: number): number {
  if (api.apiKey === ApiKey.ApiVersions) return 0;
  return isFlexible(api.response, version) ? 1 : 0;
}

export function decodeRequestHeader(r: Reader, headerVersion: number): RequestHeaderValue {
  const h = decodeMessage(RequestHeader, headerVersion, r);
  return { apiKey: h.requestApiKey as number, apiVersion: h.requestApiVersion as number, correlationId: h.correlationId as number, clientId: h.clientId as string | null };
}

export function encodeRequestHeader(w: Writer, h: RequestHeaderValue, headerVersion: number): void {
  encodeMessage(RequestHeader, headerVersion, { requestApiKey: h.apiKey, requestApiVersion: h.apiVersion, correlationId: h.correlationId, clientId: h.clientId }, w);
}

export function encodeResponseHeader(w: Writer, correlationId: number, headerVersion: number): void {
  encodeMessage(ResponseHeader, headerVersion, { correlationId }, w);
}

export function decodeResponseHeader(r: Reader, headerVersion: number): { correlationId: number } {
  return { correlationId: decodeMessage(ResponseHeader, headerVersion, r).correlationId as number };
}
