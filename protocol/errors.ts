/**
 * One error class per condition, each with a stable `name` and a stable `code` (the code is what
 * HTTP answers carry in `{ error: { code, message } }`). Callers branch on `code`, never on text.
 */
export class DcloudError extends Error {
  readonly code: string;
  /** HTTP status an API should answer with when this error reaches it. */
  readonly status: number;

  constructor(code: string, message: string, status = 400, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = status;
    this.name = 'DcloudError';
  }

  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Anything wrong with a signed envelope: its bytes, its signature, its freshness or its body. */
export class EnvelopeError extends DcloudError {
  constructor(code: EnvelopeErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, 400, options);
    this.name = 'EnvelopeError';
  }
}

export const EnvelopeErrorCodes = {
  MALFORMED: 'ENVELOPE_MALFORMED',
  OVERSIZED: 'ENVELOPE_OVERSIZED',
  NON_CANONICAL: 'ENVELOPE_NON_CANONICAL',
  UNKNOWN_TYPE: 'ENVELOPE_UNKNOWN_TYPE',
  WRONG_TYPE: 'ENVELOPE_WRONG_TYPE',
  UNSUPPORTED_VERSION: 'ENVELOPE_UNSUPPORTED_VERSION',
  BAD_SIGNATURE: 'ENVELOPE_BAD_SIGNATURE',
  STALE: 'ENVELOPE_STALE',
  FUTURE: 'ENVELOPE_FUTURE',
  REPLAYED: 'ENVELOPE_REPLAYED',
  INVALID_BODY: 'ENVELOPE_INVALID_BODY',
} as const;
export type EnvelopeErrorCode = (typeof EnvelopeErrorCodes)[keyof typeof EnvelopeErrorCodes];

/** Key files: missing, unreadable by policy, corrupt, or locked with another passphrase. */
export class KeyFileError extends DcloudError {
  constructor(code: KeyFileErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, 400, options);
    this.name = 'KeyFileError';
  }
}

export const KeyFileErrorCodes = {
  NOT_FOUND: 'KEYFILE_NOT_FOUND',
  INSECURE_PERMISSIONS: 'KEYFILE_INSECURE_PERMISSIONS',
  CORRUPT: 'KEYFILE_CORRUPT',
  WRONG_PASSPHRASE: 'KEYFILE_WRONG_PASSPHRASE',
  PASSPHRASE_REQUIRED: 'KEYFILE_PASSPHRASE_REQUIRED',
  EXISTS: 'KEYFILE_EXISTS',
} as const;
export type KeyFileErrorCode = (typeof KeyFileErrorCodes)[keyof typeof KeyFileErrorCodes];
