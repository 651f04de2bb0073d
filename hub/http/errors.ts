import type { Socket } from 'node:net';
import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DcloudError } from '../../protocol/errors.ts';

/**
 * The hub's one error catalogue. Every error the HTTP API answers, from any layer (routing, body
 * parsing, validation, rate limiting, the engine), leaves as `{ "error": { "code", "message" } }`
 * with a 4xx/5xx status. Engine errors are DcloudErrors and carry their own status and code;
 * the conditions below are the ones only the HTTP edge can meet.
 */
export const HttpErrorCodes = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  MALFORMED_JSON: 'MALFORMED_JSON',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  BAD_REQUEST: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  RATE_LIMITED: 'RATE_LIMITED',
  /** An admin route without the operator's token (or with another). */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** An admin route asked from another machine than the hub's. */
  FORBIDDEN: 'FORBIDDEN',
  /** This hub asks for no registration proof of work: there is no challenge to fetch. */
  POW_NOT_REQUIRED: 'POW_NOT_REQUIRED',
  INTERNAL: 'INTERNAL',
} as const;
export type HttpErrorCode = (typeof HttpErrorCodes)[keyof typeof HttpErrorCodes];

export class HttpError extends DcloudError {
  constructor(code: HttpErrorCode, message: string, status: number, options?: { cause?: unknown }) {
    super(code, message, status, options);
    this.name = 'HttpError';
  }
}

export const ErrorBody = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({ description: 'stable, machine-readable: branch on this, never on the message' }),
        message: Type.String({ description: 'for people: names the field or the reason' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: 'Every error the API answers' },
);

/** Response schemas of the errors any route can answer; spread into each route's `response`. */
export const errorResponses = { '4xx': ErrorBody, '5xx': ErrorBody } as const;

// fastify's own error codes, mapped onto the catalogue.
const FASTIFY_CODES: Record<string, { status: number; code: HttpErrorCode }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: HttpErrorCodes.MALFORMED_JSON },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: HttpErrorCodes.MALFORMED_JSON },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: HttpErrorCodes.PAYLOAD_TOO_LARGE },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: HttpErrorCodes.UNSUPPORTED_MEDIA_TYPE },
  FST_ERR_VALIDATION: { status: 400, code: HttpErrorCodes.VALIDATION_FAILED },
};

export interface Classified {
  status: number;
  code: string;
  message: string;
  /** True for faults of the hub, not of the client: logged with their stack. */
  internal: boolean;
}

/** Maps anything thrown while answering a request onto the catalogue. */
export function classify(err: unknown): Classified {
  if (err instanceof DcloudError) {
    return { status: err.status, code: err.code, message: err.message, internal: err.status >= 500 };
  }
  const fe = err as Partial<FastifyError> | null;
  const known = fe?.code !== undefined ? FASTIFY_CODES[fe.code] : undefined;
  if (known !== undefined) return { ...known, message: fe?.message ?? known.code, internal: false };
  // Other client errors fastify raises (a bad Content-Length, a poisoned __proto__ key...).
  const status = fe?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, code: HttpErrorCodes.BAD_REQUEST, message: fe?.message ?? 'bad request', internal: false };
  }
  return { status: 500, code: HttpErrorCodes.INTERNAL, message: 'internal error: the hub logged the details', internal: true };
}

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

export interface ErrorCatalogueOptions {
  /** Told of every error answered, after classification (metrics count rejections by code). */
  onError?: (classified: Classified, request: FastifyRequest) => void;
}

/**
 * Installs the catalogue on the ROOT instance, before any route plugin is registered, so every
 * encapsulated context inherits it: the error handler and the 404 handler. (Bytes that never
 * became an HTTP request are answered by `answerClientError`, given to fastify at construction.)
 */
export function installErrorCatalogue(app: FastifyInstance, options: ErrorCatalogueOptions = {}): void {
  const answer = (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const classified = classify(err);
    if (classified.internal) request.log.error({ err }, 'request failed');
    else request.log.debug({ code: classified.code, msg: classified.message }, 'request refused');
    options.onError?.(classified, request);
    return reply.code(classified.status).type('application/json; charset=utf-8').send(errorBody(classified.code, classified.message));
  };

  app.setErrorHandler((err, request, reply) => answer(err, request, reply));
  app.setNotFoundHandler((request, reply) =>
    answer(new HttpError(HttpErrorCodes.NOT_FOUND, `no route ${request.method} ${request.url.split('?')[0]}`, 404), request, reply),
  );
}

/**
 * fastify's `clientErrorHandler`: bytes that are not HTTP at all still get the JSON error body
 * (with `Connection: close`, since the stream cannot be trusted after them).
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (socket.destroyed || !socket.writable) return;
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const body = JSON.stringify(
    errorBody(HttpErrorCodes.BAD_REQUEST, tooLarge ? 'request headers are too large' : 'the request is not valid HTTP'),
  );
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** The rate limiter's answer: thrown from its hook, then answered by the catalogue. */
export function rateLimited(retryAfterS: number, what: string): HttpError {
  return new HttpError(HttpErrorCodes.RATE_LIMITED, `too many requests from this ${what}; retry in ${retryAfterS} s`, 429);
}
