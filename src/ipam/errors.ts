import { FlannelOperatorError } from '../errors.js';

/** Stable error codes of the IPAM layer; callers branch on `code`, humans read `message`. */
export type IpamErrorCode =
  | 'EIPAM_INVALID_CONFIG'
  | 'EIPAM_INVALID_CIDR'
  | 'EIPAM_EXHAUSTED'
  | 'EIPAM_CONFLICT'
  | 'EIPAM_OUT_OF_RANGE'
  | 'EIPAM_MISALIGNED'
  | 'EIPAM_RESERVED';

export class IpamError extends FlannelOperatorError {
  override readonly name = 'IpamError';
  constructor(
    readonly code: IpamErrorCode,
    message: string,
  ) {
    super(message);
  }
}
