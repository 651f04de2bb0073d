import { createHash, randomBytes } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { nodeIdOf, type Signer } from '../keys/keypair.ts';
import type { Verifier } from '../keys/verifier.ts';
import { canonicalJson, isCanonicalJson } from './canonical.ts';
import { EnvelopeError, EnvelopeErrorCodes as E } from './errors.ts';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  type Envelope,
  MESSAGE_TYPES,
  MessageBodies,
  type MessageBody,
  type MessageType,
  PROTOCOL_VERSION,
  isMessageType,
} from './messages.ts';
import type { ReplayGuard } from './replay.ts';

/** The decoded, verified content of an envelope. */
export interface Opened<T extends MessageType = MessageType> {
  readonly type: T;
  readonly v: number;
  /** Public key of the signer, hex. */
  readonly signer: string;
  /** Node id derived from `signer`. */
  readonly nodeId: string;
  readonly ts: number;
  readonly nonce: string;
  readonly body: MessageBody<T>;
  /** sha256 of the signed bytes, hex: the envelope's content id. */
  readonly id: string;
  readonly envelope: Envelope;
}

const Header = Type.Object(
  {
    v: Type.Integer(),
    type: Type.String(),
    signer: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    ts: Type.Integer({ minimum: 0, maximum: 8.64e15 }),
    nonce: Type.String({ pattern: '^[0-9a-f]{32}$' }),
    body: Type.Unknown(),
  },
  { additionalProperties: false },
);
const headerCheck = TypeCompiler.Compile(Header);
const bodyChecks = Object.fromEntries(MESSAGE_TYPES.map((t) => [t, TypeCompiler.Compile(MessageBodies[t])])) as {
  [K in MessageType]: TypeCheck<(typeof MessageBodies)[K]>;
};
const MAX_ANY_PAYLOAD = Math.max(...Object.values(DEFAULT_MAX_PAYLOAD_BYTES));
const SIG_RE = /^[0-9a-f]{128}$/;

/** The domain-separation prefix: no signature over one message type verifies as another. */
export function domainPrefix(type: MessageType): string {
  return `dcloud/v${PROTOCOL_VERSION}/${type}\n`;
}
const PREFIXES = Object.fromEntries(MESSAGE_TYPES.map((t) => [t, domainPrefix(t)])) as Record<MessageType, string>;

/** The exact bytes an Ed25519 signature covers: prefix, then the canonical payload, as UTF-8. */
export function signedBytes(type: MessageType, payload: string): Uint8Array {
  return Buffer.from(PREFIXES[type] + payload, 'utf8');
}

export function envelopeId(type: MessageType, payload: string): string {
  return createHash('sha256').update(signedBytes(type, payload)).digest('hex');
}

/**
 * Whether `text` takes more than `cap` bytes of UTF-8. Every UTF-16 unit takes 1 to 3 bytes, so
 * a text of at most cap / 3 units fits whatever it holds, and the byte count (a full scan) is
 * needed only for longer ones.
 */
function overCap(text: string, cap: number): boolean {
  return text.length * 3 > cap && Buffer.byteLength(text, 'utf8') > cap;
}

function firstError(check: TypeCheck<any>, value: unknown): string {
  const err = check.Errors(value).First();
  if (err === undefined) return 'invalid';
  return `${err.path || '/'}: ${err.message}`;
}

export interface SealOptions {
  /** ms since the epoch; defaults to Date.now(). */
  now?: number;
  /** 16 bytes hex; random by default. */
  nonce?: string;
}

/** Builds and signs an envelope. Everything is validated first: we never sign what we would refuse. */
export function seal<T extends MessageType>(type: T, body: MessageBody<T>, signer: Signer, options: SealOptions = {}): Envelope {
  if (!isMessageType(type)) throw new EnvelopeError(E.UNKNOWN_TYPE, `refusing to sign unknown message type ${JSON.stringify(type)}`);
  const check = bodyChecks[type];
  if (!check.Check(body)) {
    throw new EnvelopeError(E.INVALID_BODY, `refusing to sign an invalid ${type}: ${firstError(check, body)}`);
  }
  const message = {
    v: PROTOCOL_VERSION,
    type,
    signer: signer.publicKeyHex,
    ts: options.now ?? Date.now(),
    nonce: options.nonce ?? randomBytes(16).toString('hex'),
    body,
  };
  if (!headerCheck.Check(message)) throw new EnvelopeError(E.MALFORMED, `refusing to sign a bad header: ${firstError(headerCheck, message)}`);
  const payload = canonicalJson(message);
  const sig = Buffer.from(signer.sign(signedBytes(type, payload))).toString('hex');
  return { payload, sig };
}

export interface OpenOptions<T extends MessageType> {
  verifier: Verifier;
  /** Accept only these types (the endpoint's). Anything else is ENVELOPE_WRONG_TYPE. */
  expect?: readonly T[];
  /**
   * Freshness check against this clock (ms). Omit for messages that are archived and relayed
   * later (a decision's embedded results, anti-entropy), whose signatures still must verify.
   */
  now?: number;
  /** How old a fresh envelope may be, ms (default 120 s). */
  maxAgeMs?: number;
  /** How far in the future a fresh envelope may be dated, ms (default 30 s). */
  maxSkewMs?: number;
  /** Rejects a (signer, nonce) seen before within the window. Only with `now`. */
  replay?: ReplayGuard;
  /** Per-type payload caps overriding the defaults. */
  maxBytes?: Partial<Record<MessageType, number>>;
}

/**
 * Parses, checks and verifies an envelope, in order of cost: shape, size, type, canonical form,
 * header, body schema, signature, freshness, replay. Throws EnvelopeError naming the reason.
 */
export function open<T extends MessageType = MessageType>(input: unknown, options: OpenOptions<T>): Opened<T> {
  const checked = check(input, options);
  return opened(checked, options.verifier.verify(checked.message.signer, checked.bytes, checked.sig), options);
}

/**
 * open(), with the signature verified on libuv's thread pool (Verifier.verifyOffThread): for a
 * server whose one JavaScript thread should parse and answer while other cores verify. The same
 * checks in the same order; freshness and replay are judged when the verdict is in.
 */
export async function openOffThread<T extends MessageType = MessageType>(input: unknown, options: OpenOptions<T>): Promise<Opened<T>> {
  const checked = check(input, options);
  return opened(checked, await options.verifier.verifyOffThread(checked.message.signer, checked.bytes, checked.sig), options);
}

interface Checked {
  type: MessageType;
  message: Static<typeof Header>;
  payload: string;
  /** The signature as sent (hex) and as bytes. */
  sigHex: string;
  sig: Buffer;
  bytes: Uint8Array;
}

/** Everything open() checks before the signature. */
function check<T extends MessageType>(input: unknown, options: OpenOptions<T>): Checked {
  let raw = input;
  if (typeof raw === 'string') {
    if (raw.length > MAX_ANY_PAYLOAD * 2) throw new EnvelopeError(E.OVERSIZED, `envelope of ${raw.length} characters is larger than any message may be`);
    try {
      raw = JSON.parse(raw);
    } catch {
      throw new EnvelopeError(E.MALFORMED, 'envelope is not valid JSON');
    }
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new EnvelopeError(E.MALFORMED, 'envelope must be an object { payload, sig }');
  const { payload, sig, ...extra } = raw as Record<string, unknown>;
  if (Object.keys(extra).length > 0) throw new EnvelopeError(E.MALFORMED, `envelope has unknown fields: ${Object.keys(extra).join(', ')}`);
  if (typeof payload !== 'string') throw new EnvelopeError(E.MALFORMED, 'envelope.payload must be a string');
  if (typeof sig !== 'string' || !SIG_RE.test(sig)) throw new EnvelopeError(E.MALFORMED, 'envelope.sig must be 64 bytes of lower-case hex');
  if (overCap(payload, MAX_ANY_PAYLOAD)) throw new EnvelopeError(E.OVERSIZED, `payload of ${Buffer.byteLength(payload)} bytes is larger than any message may be`);

  let message: unknown;
  try {
    message = JSON.parse(payload);
  } catch {
    throw new EnvelopeError(E.MALFORMED, 'payload is not valid JSON');
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message)) throw new EnvelopeError(E.MALFORMED, 'payload must be a JSON object');
  const type = (message as { type?: unknown }).type;
  if (!isMessageType(type)) throw new EnvelopeError(E.UNKNOWN_TYPE, `unknown message type ${JSON.stringify(type)}`);
  if (options.expect !== undefined && !(options.expect as readonly string[]).includes(type)) {
    throw new EnvelopeError(E.WRONG_TYPE, `expected ${options.expect.join(' or ')}, got ${type}`);
  }
  const cap = options.maxBytes?.[type] ?? DEFAULT_MAX_PAYLOAD_BYTES[type];
  if (overCap(payload, cap)) throw new EnvelopeError(E.OVERSIZED, `${type} payload of ${Buffer.byteLength(payload)} bytes exceeds the cap of ${cap}`);
  if (!isCanonicalJson(payload, message)) throw new EnvelopeError(E.NON_CANONICAL, 'payload is not in RFC 8785 canonical form');
  if (!headerCheck.Check(message)) throw new EnvelopeError(E.MALFORMED, `payload header: ${firstError(headerCheck, message)}`);
  if (message.v !== PROTOCOL_VERSION) throw new EnvelopeError(E.UNSUPPORTED_VERSION, `protocol version ${message.v} is not supported (this side speaks ${PROTOCOL_VERSION})`);
  const bodyCheck = bodyChecks[type];
  if (!bodyCheck.Check(message.body)) throw new EnvelopeError(E.INVALID_BODY, `${type} body ${firstError(bodyCheck, message.body)}`);

  return { type, message, payload, sigHex: sig, sig: Buffer.from(sig, 'hex'), bytes: signedBytes(type, payload) };
}

/** The rest of open() once the signature's verdict is known. */
function opened<T extends MessageType>(checked: Checked, verified: boolean, options: OpenOptions<T>): Opened<T> {
  const { type, message, payload, sigHex, bytes } = checked;
  if (!verified) throw new EnvelopeError(E.BAD_SIGNATURE, `signature does not verify for ${type} from ${message.signer.slice(0, 16)}…`);
  if (options.now !== undefined) {
    const maxAge = options.maxAgeMs ?? 120_000;
    const maxSkew = options.maxSkewMs ?? 30_000;
    if (message.ts < options.now - maxAge) throw new EnvelopeError(E.STALE, `envelope dated ${options.now - message.ts} ms ago; at most ${maxAge} ms is accepted`);
    if (message.ts > options.now + maxSkew) throw new EnvelopeError(E.FUTURE, `envelope dated ${message.ts - options.now} ms in the future; at most ${maxSkew} ms is accepted`);
    if (options.replay !== undefined && !options.replay.remember(message.signer, message.nonce, message.ts, options.now)) {
      throw new EnvelopeError(E.REPLAYED, `nonce ${message.nonce} from this signer was already used`);
    }
  }
  // The content id is hashed on first read: most envelopes (heartbeats, work requests) never need it.
  let id: string | undefined;
  return {
    type: type as T,
    v: message.v,
    signer: message.signer,
    nodeId: nodeIdFromHex(message.signer),
    ts: message.ts,
    nonce: message.nonce,
    body: message.body as MessageBody<T>,
    get id() {
      return (id ??= createHash('sha256').update(bytes).digest('hex'));
    },
    envelope: { payload, sig: sigHex },
  };
}

const nodeIdCache = new Map<string, string>();
function nodeIdFromHex(publicKeyHex: string): string {
  let id = nodeIdCache.get(publicKeyHex);
  if (id === undefined) {
    id = nodeIdOf(Buffer.from(publicKeyHex, 'hex'));
    if (nodeIdCache.size > 100_000) nodeIdCache.clear();
    nodeIdCache.set(publicKeyHex, id);
  }
  return id;
}
