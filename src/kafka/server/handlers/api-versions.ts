import { APIS } from '../../protocol/apis.ts';
import type { Message } from '../../protocol/codec.ts';
import { ErrorCode } from '../kafka-errors.ts';

function apiKeys() {
  return APIS.map((a) => ({ apiKey: a.apiKey, minVersion: a.min, maxVersion: a.max }));
}

export function apiVersions(): Message {
  return { errorCode: ErrorCode.NONE, apiKeys: apiKeys(), throttleTimeMs: 0 };
}

/** The answer to an ApiVersions request of a version we do not serve (sent as v0, KIP-511). */
export function unsupportedVersionResponse(): Message {
  return { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: apiKeys(), throttleTimeMs: 0 };
}
