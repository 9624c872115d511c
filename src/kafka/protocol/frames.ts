/**
 * Whole frames: a 4-byte size prefix, a header, a body. Pure functions used by the broker and
 * by tests that play a client.
 */
import { Reader, Writer } from './buffers.ts';
import { decodeMessage, encodeMessage, type Message } from './codec.ts';
import { ProtocolError } from './errors.ts';
import { apiByKey } from './apis.ts';
import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  type RequestHeaderValue,
} from './headers.ts';

export interface DecodedRequest {
  header: RequestHeaderValue;
  body: Message;
}

/** Decodes a request frame (without its size prefix). */
export function decodeRequest(frame: Buffer): DecodedRequest {
  if (frame.length < 8) throw new ProtocolError('MALFORMED_FRAME', `request frame of ${frame.length} bytes is shorter than a header`);
  const apiKey = frame.readInt16BE(0);
  const apiVersion = frame.readInt16BE(2);
  const api = apiByKey(apiKey);
  if (!api) throw new ProtocolError('UNKNOWN_API', `unknown API key ${apiKey}`);
  if (apiVersion < api.request.versions[0] || apiVersion > api.request.versions[1]) {
    throw new ProtocolError('UNSUPPORTED_VERSION', `${api.name} v${apiVersion} is not supported (${api.min}-${api.max})`);
  }
  const r = new Reader(frame);
  const header = decodeRequestHeader(r, requestHeaderVersion(api, apiVersion));
  const body = decodeMessage(api.request, apiVersion, r);
  return { header, body };
}

/** Encodes a request with its size prefix (client side: tests, the fuzzer). */
export function encodeRequest(header: RequestHeaderValue, body: Message): Buffer {
  const api = apiByKey(header.apiKey);
  if (!api) throw new ProtocolError('UNKNOWN_API', `unknown API key ${header.apiKey}`);
  const w = new Writer(512);
  const sizeAt = w.reserveInt32();
  encodeRequestHeader(w, header, requestHeaderVersion(api, header.apiVersion));
  encodeMessage(api.request, header.apiVersion, body, w);
  w.patchInt32(sizeAt, w.pos - 4);
  return w.finish();
}

/** Encodes a response with its size prefix. */
export function encodeResponse(apiKey: number, apiVersion: number, correlationId: number, body: Message): Buffer {
  const api = apiByKey(apiKey)!;
  const w = new Writer(512);
  const sizeAt = w.reserveInt32();
  encodeResponseHeader(w, correlationId, responseHeaderVersion(api, apiVersion));
  encodeMessage(api.response, apiVersion, body, w);
  w.patchInt32(sizeAt, w.pos - 4);
  return w.finish();
}

/** Decodes a response frame (without its size prefix). */
export function decodeResponse(apiKey: number, apiVersion: number, frame: Buffer): { correlationId: number; body: Message } {
  const api = apiByKey(apiKey)!;
  const r = new Reader(frame);
  const { correlationId } = decodeResponseHeader(r, responseHeaderVersion(api, apiVersion));
  return { correlationId, body: decodeMessage(api.response, apiVersion, r) };
}
