import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { rateLimitKey } from '../engine-address.ts';
import { rateLimited } from './errors.ts';

export interface RateLimitSettings {
  /** Requests per window from one address (IPv6 grouped by /64); 0 turns the limit off. */
  perAddress: number;
  /** Signed requests per window from one signing key; 0 turns the limit off. */
  perKey: number;
  windowMs: number;
}

/** A hook that rate-limits a route by the key that signed the envelope `pick` finds in its body. */
export type SignerLimit = (pick: (body: unknown) => unknown) => (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

const SIGNER_FIELD = '"signer":"';
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * The signer's public key read straight out of an envelope's payload text, before (and without)
 * verifying it: rate limiting must cost less than the signature check it protects. In canonical
 * JSON the top-level `signer` is the last one (keys sorted: body, nonce, signer, ts, type, v, and
 * string values cannot hold an unescaped quote). A forger can name any key here, which is why the
 * per-address limit runs first and this one only spreads a key's own budget.
 */
export function signerOf(envelope: unknown): string | undefined {
  if (typeof envelope !== 'object' || envelope === null) return undefined;
  const payload = (envelope as { payload?: unknown }).payload;
  if (typeof payload !== 'string') return undefined;
  const at = payload.lastIndexOf(SIGNER_FIELD);
  if (at < 0) return undefined;
  const start = at + SIGNER_FIELD.length;
  const key = payload.slice(start, start + 64);
  return HEX64.test(key) ? key : undefined;
}

/**
 * Registers the per-address limit on every route (fastify's onRequest, before the body is even
 * read) and returns the factory for the per-key limit, which needs the parsed body and so runs
 * at preValidation on the routes that take envelopes.
 */
export async function installRateLimits(app: FastifyInstance, settings: RateLimitSettings): Promise<SignerLimit> {
  await app.register(rateLimit, {
    global: settings.perAddress > 0,
    max: settings.perAddress,
    timeWindow: settings.windowMs,
    cache: 100_000,
    keyGenerator: (request: FastifyRequest) => rateLimitKey(request.ip),
    // The x-ratelimit-* headers on every answer cost more than the limiting itself; a client
    // learns its limit from the 429 (with retry-after) when it meets it.
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    errorResponseBuilder: (_request, context) => rateLimited(Math.ceil(context.ttl / 1000), 'address'),
  });
  if (settings.perKey <= 0) return () => async () => {};

  return (pick) => {
    const limiterOptions = {
      max: settings.perKey,
      timeWindow: settings.windowMs,
      // One entry per agent key, sized so a large fleet is not evicted (an evicted key would start
      // a fresh window). The plugin honours `cache` here although its types only list it at registration.
      cache: 200_000,
      keyGenerator: (request: FastifyRequest) => `key:${signerOf(pick(request.body))}`,
    };
    const limiter = app.createRateLimit(limiterOptions);
    return async (request, reply) => {
      if (signerOf(pick(request.body)) === undefined) return; // not an envelope: the schema refuses it next
      const state = await limiter(request);
      if (!state.isAllowed && state.isExceeded) {
        reply.header('retry-after', state.ttlInSeconds);
        throw rateLimited(state.ttlInSeconds, 'signing key');
      }
    };
  };
}
