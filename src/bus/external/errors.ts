import { BusError, type BusErrorCode } from '../errors.ts';

/** Bus errors only the external implementation raises. */
export type ExternalBusErrorCode = 'UNSUPPORTED';

/**
 * A bus feature the external cluster cannot provide (share groups: KIP-932 is not in the
 * Kafka client library, and most clusters do not run it). A BusError, so callers that catch
 * bus errors catch it; `code` is `UNSUPPORTED`.
 */
export class BusUnsupportedError extends BusError {
  constructor(message: string) {
    super('UNSUPPORTED' as ExternalBusErrorCode as unknown as BusErrorCode, message, { httpStatus: 501 });
    this.name = 'BusUnsupportedError';
  }
}
