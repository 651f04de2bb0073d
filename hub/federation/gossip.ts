import { createHash } from 'node:crypto';
import type { Verifier } from '../../keys/verifier.ts';
import { type Opened, open } from '../../protocol/envelope.ts';
import { EnvelopeError, EnvelopeErrorCodes } from '../../protocol/errors.ts';
import type { Envelope } from '../../protocol/messages.ts';
import { HUB_TYPES, typesOf } from './topics.ts';

/**
 * What travels in a gossipsub message: the envelope's JSON text, `{"payload":…,"sig":…}`, exactly
 * as JSON.stringify writes it (which, for these two string fields, is also its RFC 8785 form).
 * One byte form per envelope, so the content-based message id (sha256 of the data) cannot be
 * dodged by re-spacing a message to have it delivered twice.
 */
export function encodeGossip(envelope: Envelope): Uint8Array {
  return Buffer.from(JSON.stringify({ payload: envelope.payload, sig: envelope.sig }), 'utf8');
}

/** gossipsub's message id: a hash of the content, so a message relayed by many peers is one message. */
export function gossipMessageId(data: Uint8Array): Uint8Array {
  return createHash('sha256').update(data).digest();
}

export type GossipReading =
  | { ok: true; opened: Opened }
  /** reject: a forgery or garbage, the sender is penalised; ignore: not wrong, just not useful now. */
  | { ok: false; result: 'reject' | 'ignore'; reason: string };

export interface GossipCheck {
  verifier: Verifier;
  /** The gossip message's cap, bytes. */
  maxMessageBytes: number;
  /** How old (or how far in the future) a gossiped envelope may be, ms. */
  freshnessMs: number;
  now: number;
}

// Stale or future-dated: an honest peer with a skewed clock or a slow path, not a forger.
const IGNORABLE = new Set<string>([EnvelopeErrorCodes.STALE, EnvelopeErrorCodes.FUTURE]);

/**
 * Everything a hub can decide about a gossip message alone, cheapest check first: its size, its
 * byte form, the envelope's signature and schema, that its type belongs to the topic, that it is
 * fresh, and, for a hub's own messages, that the peer which published it (gossipsub StrictSign
 * `from`, whose key signed the gossip message) is the hub whose key signed the envelope.
 */
export function readGossip(topic: string, data: Uint8Array, publisherKeyHex: string | undefined, check: GossipCheck): GossipReading {
  if (data.byteLength > check.maxMessageBytes) return { ok: false, result: 'reject', reason: `${data.byteLength} bytes exceed the cap of ${check.maxMessageBytes}` };
  const expect = typesOf(topic);
  if (expect.length === 0) return { ok: false, result: 'reject', reason: `unknown topic ${topic}` };
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  let opened: Opened;
  try {
    opened = open(text, { verifier: check.verifier, expect, now: check.now, maxAgeMs: check.freshnessMs, maxSkewMs: check.freshnessMs });
  } catch (err) {
    if (!(err instanceof EnvelopeError)) throw err;
    return { ok: false, result: IGNORABLE.has(err.code) ? 'ignore' : 'reject', reason: `${err.code}: ${err.message}` };
  }
  if (JSON.stringify({ payload: opened.envelope.payload, sig: opened.envelope.sig }) !== text) {
    return { ok: false, result: 'reject', reason: 'the gossip data is not the envelope in its one byte form' };
  }
  if (HUB_TYPES.has(opened.type) && opened.signer !== publisherKeyHex) {
    return { ok: false, result: 'reject', reason: `${opened.type} signed by ${opened.signer.slice(0, 16)}… was published by another peer: a hub speaks only for itself` };
  }
  return { ok: true, opened };
}
