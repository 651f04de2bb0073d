import { DcloudError } from '../../protocol/errors.ts';

/**
 * The federation's error catalogue: one class per condition, each with a stable `code` and the
 * HTTP status an API answers with when the error reaches it.
 */
export const FederationErrorCodes = {
  NOT_STARTED: 'FEDERATION_NOT_STARTED',
  BAD_OPTIONS: 'FEDERATION_BAD_OPTIONS',
  UNROUTABLE_TYPE: 'FEDERATION_UNROUTABLE_TYPE',
  NOT_ORIGIN: 'FEDERATION_NOT_ORIGIN',
  MESSAGE_TOO_LARGE: 'FEDERATION_MESSAGE_TOO_LARGE',
  NOT_LOGGABLE: 'FEDERATION_NOT_LOGGABLE',
  LOG_CONFLICT: 'FEDERATION_LOG_CONFLICT',
  LOG_OUT_OF_ORDER: 'FEDERATION_LOG_OUT_OF_ORDER',
  LOG_CORRUPT: 'FEDERATION_LOG_CORRUPT',
  SYNC_PROTOCOL: 'FEDERATION_SYNC_PROTOCOL',
  SYNC_THROTTLED: 'FEDERATION_SYNC_THROTTLED',
} as const;
export type FederationErrorCode = (typeof FederationErrorCodes)[keyof typeof FederationErrorCodes];

export class FederationNotStartedError extends DcloudError {
  constructor() {
    super(FederationErrorCodes.NOT_STARTED, 'the federation is not running (start it first)', 503);
    this.name = 'FederationNotStartedError';
  }
}

/** A listen or bootstrap address, or a peer id of the allow list, that cannot be used. */
export class FederationOptionsError extends DcloudError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(FederationErrorCodes.BAD_OPTIONS, message, 400, options);
    this.name = 'FederationOptionsError';
  }
}

/** A message type that has no federation topic (e.g. `work.request`, which only ever goes to one hub). */
export class UnroutableTypeError extends DcloudError {
  constructor(type: string) {
    super(FederationErrorCodes.UNROUTABLE_TYPE, `${type} messages are not gossiped between hubs`, 400);
    this.name = 'UnroutableTypeError';
  }
}

/** Only a hub may publish what it signed itself: any other hub would be refused for relaying it. */
export class NotOriginError extends DcloudError {
  constructor(type: string, signer: string) {
    super(FederationErrorCodes.NOT_ORIGIN, `${type} signed by ${signer.slice(0, 16)}… is not this hub's own: only its origin publishes it`, 400);
    this.name = 'NotOriginError';
  }
}

export class MessageTooLargeError extends DcloudError {
  constructor(bytes: number, cap: number) {
    super(FederationErrorCodes.MESSAGE_TOO_LARGE, `a gossip message of ${bytes} bytes exceeds the federation's cap of ${cap}`, 413);
    this.name = 'MessageTooLargeError';
  }
}

/** The log holds hub messages that carry their origin's signed `seq`; nothing else has a place in it. */
export class NotLoggableError extends DcloudError {
  constructor(why: string) {
    super(FederationErrorCodes.NOT_LOGGABLE, why, 400);
    this.name = 'NotLoggableError';
  }
}

/** Two different envelopes signed by one origin for the same seq: the origin equivocated. */
export class LogConflictError extends DcloudError {
  constructor(origin: string, seq: number) {
    super(FederationErrorCodes.LOG_CONFLICT, `origin ${origin} signed two different entries with seq ${seq}; the first one stands`, 409);
    this.name = 'LogConflictError';
  }
}

/** This hub's own log only grows one by one: a gap would be a hole no peer could ever fill. */
export class LogOutOfOrderError extends DcloudError {
  constructor(seq: number, expected: number) {
    super(FederationErrorCodes.LOG_OUT_OF_ORDER, `this hub's next log entry must have seq ${expected}, not ${seq}`, 409);
    this.name = 'LogOutOfOrderError';
  }
}

export class LogCorruptError extends DcloudError {
  constructor(message: string) {
    super(FederationErrorCodes.LOG_CORRUPT, message, 500);
    this.name = 'LogCorruptError';
  }
}

/** A peer answered a sync request with something the protocol does not allow. */
export class SyncProtocolError extends DcloudError {
  constructor(peer: string, message: string, options?: { cause?: unknown }) {
    super(FederationErrorCodes.SYNC_PROTOCOL, `sync with ${peer}: ${message}`, 502, options);
    this.name = 'SyncProtocolError';
  }
}

/** A peer asked for more sync than this hub serves one peer (hub/federation/throttle.ts): its session is ended. */
export class SyncThrottledError extends DcloudError {
  constructor(peer: string, message: string) {
    super(FederationErrorCodes.SYNC_THROTTLED, `sync with ${peer}: ${message}`, 429);
    this.name = 'SyncThrottledError';
  }
}
