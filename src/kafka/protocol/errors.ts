import { TributaryError } from '../../util/errors.ts';

/** A frame or field that cannot be decoded: the connection that sent it is closed. */
export class ProtocolError extends TributaryError {
  constructor(
    code: 'MALFORMED_FRAME' | 'UNSUPPORTED_VERSION' | 'UNKNOWN_API' | 'FRAME_TOO_LARGE',
    message: string,
  ) {
    super(code, message, { retriable: false });
    this.name = 'ProtocolError';
  }
}
