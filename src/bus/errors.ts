import { TributaryError } from '../util/errors.ts';

export type BusErrorCode = 'COMMIT_FAILED' | 'NOT_SUBSCRIBED' | 'CONSUMER_CLOSED' | 'PRODUCER_CLOSED' | 'GROUP_ERROR' | 'GROUP_NOT_FOUND' | 'PARTITION_UNKNOWN' | 'UNSUPPORTED';

export class BusError extends TributaryError {
  declare readonly code: BusErrorCode;
  constructor(code: BusErrorCode, message: string, opts: { kafkaCode?: number; retriable?: boolean; httpStatus?: number } = {}) {
    super(code, message, { ...opts, httpStatus: opts.httpStatus ?? (code === 'GROUP_NOT_FOUND' ? 404 : 409) });
    this.name = 'BusError';
  }
}
