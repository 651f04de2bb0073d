import { describe, expect, it } from 'vitest';
import { createSigner, generateKeyPair, type Signer, Verifier } from '../../keys/index.ts';
import {
  canonicalJson,
  DEFAULT_MAX_PAYLOAD_BYTES,
  domainPrefix,
  type Envelope,
  EnvelopeError,
  EnvelopeErrorCodes as E,
  envelopeId,
  MESSAGE_TYPES,
  type MessageBody,
  type MessageType,
  open,
  openOffThread,
  type OpenOptions,
  ReplayGuard,
  seal,
  signedBytes,
} from '../../protocol/index.ts';
import { makeTestVectors } from '../../scripts/make-test-vectors.ts';
import { expectError } from '../support/expect-error.ts';

const NOW = 1_767_225_600_000;
const alice = createSigner(generateKeyPair());
const mallory = createSigner(generateKeyPair());
const verifier = new Verifier();

/** A valid body of every message type (the test vectors' own). */
const sampleBody = Object.fromEntries(MESSAGE_TYPES.map((t) => [t, makeTestVectors().vectors.find((v) => v.type === t)!.body])) as {
  [K in MessageType]: MessageBody<K>;
};
const heartbeat = sampleBody['agent.heartbeat'];

let nonceCounter = 0;
const freshNonce = () => (++nonceCounter).toString(16).padStart(32, '0');

/** The header seal() would write, for building payloads seal() refuses to. */
function header(type: string, body: unknown, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { v: 1, type, signer: alice.publicKeyHex, ts: NOW, nonce: freshNonce(), body, ...overrides };
}

/** Signs any payload TEXT honestly, over `prefixType`'s domain prefix: the only defect is the one the test puts in. */
function signText(payload: string, prefixType: string, signer: Signer = alice): Envelope {
  const sig = signer.sign(Buffer.from(`dcloud/v1/${prefixType}\n${payload}`, 'utf8'));
  return { payload, sig: Buffer.from(sig).toString('hex') };
}

/** Signs a payload object in canonical form under its own type's prefix. */
function signObject(payload: Record<string, unknown>, signer: Signer = alice): Envelope {
  return signText(canonicalJson(payload), String(payload.type), signer);
}

function opens<T extends MessageType>(input: unknown, options: Partial<OpenOptions<T>> = {}) {
  return open<T>(input, { verifier, now: NOW, ...options });
}

function rejects(input: unknown, code: string, options: Partial<OpenOptions<MessageType>> = {}): EnvelopeError {
  return expectError(() => opens(input, options), EnvelopeError, code);
}

describe('seal and open round trips', () => {
  for (const type of MESSAGE_TYPES) {
    it(`${type}: the opened envelope carries the sealed body, signer, ids and clock`, () => {
      const envelope = seal(type, sampleBody[type], alice, { now: NOW });
      const opened = opens(envelope, { expect: [type], replay: new ReplayGuard() });
      expect(opened.type).toBe(type);
      expect(opened.v).toBe(1);
      expect(opened.body).toEqual(sampleBody[type]);
      expect(opened.signer).toBe(alice.publicKeyHex);
      expect(opened.nodeId).toBe(alice.nodeId);
      expect(opened.ts).toBe(NOW);
      expect(opened.nonce).toMatch(/^[0-9a-f]{32}$/);
      expect(opened.id).toBe(envelopeId(type, envelope.payload));
      expect(opened.envelope).toEqual(envelope);
      expect(envelope.payload).toBe(canonicalJson(JSON.parse(envelope.payload)));
    });
  }

  it('accepts the envelope as JSON text too, as it arrives on the wire', () => {
    const envelope = seal('work.request', sampleBody['work.request'], alice, { now: NOW });
    expect(opens(JSON.stringify(envelope)).body).toEqual(sampleBody['work.request']);
  });

  it('gives every envelope a fresh random nonce unless one is given', () => {
    const a = opens(seal('work.request', sampleBody['work.request'], alice, { now: NOW }));
    const b = opens(seal('work.request', sampleBody['work.request'], alice, { now: NOW }));
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.id).not.toBe(b.id);
    const fixed = opens(seal('work.request', sampleBody['work.request'], alice, { now: NOW, nonce: 'ab'.repeat(16) }));
    expect(fixed.nonce).toBe('ab'.repeat(16));
  });

  it('a content id is the sha256 of exactly the signed bytes', async () => {
    const { createHash } = await import('node:crypto');
    const envelope = seal('task.spec', sampleBody['task.spec'], alice, { now: NOW });
    const bytes = Buffer.from(signedBytes('task.spec', envelope.payload));
    expect(bytes.toString('utf8')).toBe(`${domainPrefix('task.spec')}${envelope.payload}`);
    expect(opens(envelope).id).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('accepts any of several expected types', () => {
    const envelope = seal('agent.heartbeat', heartbeat, alice, { now: NOW });
    expect(opens(envelope, { expect: ['work.request', 'agent.heartbeat'] }).type).toBe('agent.heartbeat');
  });

  it('seal refuses to sign a body its own schema rejects', () => {
    const bad = { ...heartbeat, free: { cpu: -1, ramGb: 1 } };
    expectError(() => seal('agent.heartbeat', bad, alice), EnvelopeError, E.INVALID_BODY);
    expectError(() => seal('agent.heartbeat', { ...heartbeat, free: { cpu: Number.NaN, ramGb: 1 } }, alice), EnvelopeError, E.INVALID_BODY);
  });

  it('seal refuses a header it would refuse: bad nonce, bad clock, unknown type', () => {
    expectError(() => seal('work.request', sampleBody['work.request'], alice, { nonce: 'xyz' }), EnvelopeError, E.MALFORMED);
    expectError(() => seal('work.request', sampleBody['work.request'], alice, { now: -5 }), EnvelopeError, E.MALFORMED);
    expectError(() => seal('work.request', sampleBody['work.request'], alice, { now: 1.5 }), EnvelopeError, E.MALFORMED);
    expectError(() => seal('no.such' as MessageType, {} as never, alice), EnvelopeError, E.UNKNOWN_TYPE);
  });
});

describe('signatures', () => {
  const good = () => seal('agent.heartbeat', heartbeat, alice, { now: NOW });

  it('refuses a wrong signature (one bit flipped)', () => {
    const envelope = good();
    const flipped = (Number.parseInt(envelope.sig[0]!, 16) ^ 1).toString(16) + envelope.sig.slice(1);
    rejects({ ...envelope, sig: flipped }, E.BAD_SIGNATURE);
  });

  it('refuses the signature of a different message', () => {
    const other = seal('agent.heartbeat', heartbeat, alice, { now: NOW });
    rejects({ payload: good().payload, sig: other.sig }, E.BAD_SIGNATURE);
  });

  it('refuses a payload naming one signer but signed by another key', () => {
    rejects(signObject(header('agent.heartbeat', heartbeat), mallory), E.BAD_SIGNATURE);
  });

  it('refuses a signature made over another type\'s domain prefix', () => {
    const payload = canonicalJson(header('agent.heartbeat', heartbeat));
    rejects(signText(payload, 'work.request'), E.BAD_SIGNATURE);
    // The same text signed under its own prefix is fine: only the prefix differed.
    expect(opens(signText(payload, 'agent.heartbeat')).type).toBe('agent.heartbeat');
  });

  it('refuses a payload re-labelled as another type: the body no longer fits, and the signature would not either', () => {
    const envelope = seal('work.request', sampleBody['work.request'], alice, { now: NOW });
    const relabelled = envelope.payload.replace('"type":"work.request"', '"type":"agent.heartbeat"');
    expect(relabelled).not.toBe(envelope.payload);
    rejects({ payload: relabelled, sig: envelope.sig }, E.INVALID_BODY);
    // Re-labelled AND given a body that fits: the signature over the original text fails.
    const refitted = canonicalJson({ ...JSON.parse(envelope.payload), type: 'agent.heartbeat', body: heartbeat });
    rejects({ payload: refitted, sig: envelope.sig }, E.BAD_SIGNATURE);
  });

  it('refuses a valid envelope of another type where one type is expected', () => {
    const result = seal('result', sampleBody.result, alice, { now: NOW });
    const error = rejects(result, E.WRONG_TYPE, { expect: ['agent.heartbeat'] });
    expect(error.message).toContain('agent.heartbeat');
  });

  it('refuses a signer key that RFC 8032 cannot decode, without throwing anything untyped', () => {
    // y = p + 1 (p = 2^255 - 19), little-endian: a non-canonical encoding, no valid public key.
    const notAPoint = `ee${'ff'.repeat(30)}7f`;
    rejects(signObject(header('agent.heartbeat', heartbeat, { signer: notAPoint })), E.BAD_SIGNATURE);
  });
});

describe('freshness and replay', () => {
  const at = (ts: number, signer: Signer = alice, nonce?: string) =>
    seal('agent.heartbeat', heartbeat, signer, nonce === undefined ? { now: ts } : { now: ts, nonce });

  it('refuses a stale envelope, accepting one exactly at the limit', () => {
    expect(opens(at(NOW - 120_000)).ts).toBe(NOW - 120_000);
    const error = rejects(at(NOW - 120_001), E.STALE);
    expect(error.message).toContain('120001 ms ago');
  });

  it('refuses an envelope dated in the future beyond the skew, accepting one at the limit', () => {
    expect(opens(at(NOW + 30_000)).ts).toBe(NOW + 30_000);
    rejects(at(NOW + 30_001), E.FUTURE);
  });

  it('honours custom age and skew limits', () => {
    rejects(at(NOW - 1_001), E.STALE, { maxAgeMs: 1_000 });
    rejects(at(NOW + 1), E.FUTURE, { maxSkewMs: 0 });
  });

  it('skips the clock when no `now` is given (archived envelopes still verify)', () => {
    const old = at(NOW - 365 * 86_400_000);
    expect(open(old, { verifier }).ts).toBe(NOW - 365 * 86_400_000);
  });

  it('refuses a repeated nonce from the same signer', () => {
    const replay = new ReplayGuard();
    const envelope = at(NOW);
    opens(envelope, { replay });
    rejects(envelope, E.REPLAYED, { replay });
    // A second envelope that merely reuses the nonce is refused too.
    rejects(at(NOW + 1, alice, JSON.parse(envelope.payload).nonce), E.REPLAYED, { replay });
  });

  it('keeps nonces per signer', () => {
    const replay = new ReplayGuard();
    const nonce = 'cd'.repeat(16);
    opens(at(NOW, alice, nonce), { replay });
    expect(opens(at(NOW, mallory, nonce), { replay }).signer).toBe(mallory.publicKeyHex);
  });

  it('a forgery cannot burn a genuine nonce: replay is recorded only after the signature verifies', () => {
    const replay = new ReplayGuard();
    const nonce = 'ef'.repeat(16);
    const forged = signObject(header('agent.heartbeat', heartbeat, { nonce }), mallory);
    rejects(forged, E.BAD_SIGNATURE, { replay });
    expect(opens(at(NOW, alice, nonce), { replay }).nonce).toBe(nonce);
  });
});

describe('canonical form', () => {
  const canonical = canonicalJson(header('agent.heartbeat', heartbeat));
  // Each variant is signed honestly: canonical form is refused for itself, not for a bad signature.
  const variants: Record<string, (text: string) => string> = {
    'extra white space': (t) => JSON.stringify(JSON.parse(t), null, 2),
    'a trailing newline': (t) => `${t}\n`,
    'reordered keys': (t) => `{"v":1,${t.slice(1).replace(',"v":1}', '}')}`,
    'a duplicate key': (t) => t.replace(',"v":1}', ',"v":1,"v":1}'),
    'a needless \\u escape': (t) => t.replace('"agent.heartbeat"', '"agent.\\u0068eartbeat"'),
    'a needless escape in a key': (t) => t.replace('"type"', '"typ\\u0065"'),
    'a number written 4.0': (t) => t.replace('"cpu":4,', '"cpu":4.0,'),
    'a number in exponent form': (t) => t.replace('"cpu":4,', '"cpu":4e0,'),
  };
  for (const [name, mutate] of Object.entries(variants)) {
    it(`refuses a payload with ${name}`, () => {
      const text = mutate(canonical);
      expect(text).not.toBe(canonical);
      expect(JSON.parse(text)).toEqual(JSON.parse(canonical)); // the same value, written differently
      rejects(signText(text, 'agent.heartbeat'), E.NON_CANONICAL);
    });
  }

  it('refuses an escaped slash, which RFC 8785 writes bare', () => {
    const register = sampleBody['agent.register'];
    expect(register.software).toContain('/');
    const text = canonicalJson(header('agent.register', register));
    rejects(signText(text.replace(register.software, register.software.replace('/', '\\/')), 'agent.register'), E.NON_CANONICAL);
    expect(opens(signText(text, 'agent.register')).body).toEqual(register);
  });

  it('refuses non-ASCII characters written as \\u escapes, which RFC 8785 writes as UTF-8', () => {
    const body = { ...sampleBody['agent.register'], name: 'Grüße' };
    const text = canonicalJson(header('agent.register', body));
    rejects(signText(text.replace('Grüße', 'Gr\\u00fc\\u00dfe'), 'agent.register'), E.NON_CANONICAL);
    expect(opens(signText(text, 'agent.register')).body).toEqual(body);
  });

  it('refuses a lone surrogate, which RFC 8785 cannot represent', () => {
    const text = canonicalJson(header('agent.register', { ...sampleBody['agent.register'], name: 'x' })).replace('"name":"x"', '"name":"\\ud800"');
    rejects(signText(text, 'agent.register'), E.NON_CANONICAL);
  });

  it('refuses a number too large for a double', () => {
    const text = canonicalJson(header('work.request', sampleBody['work.request'])).replace(/"ts":\d+/, '"ts":1e400');
    rejects(signText(text, 'work.request'), E.NON_CANONICAL);
  });

  it('judges integer-like keys by RFC 8785 order, not JavaScript\'s enumeration order', () => {
    // {"10":..,"9":..} is canonical (string order) though JavaScript enumerates 9 first; the body
    // is then refused for its content, not its form.
    const text = canonicalJson(header('work.request', { free: { cpu: 1, ramGb: 1 }, 10: 1, 9: 2 }));
    expect(text).toContain('"10":1,"9":2');
    rejects(signText(text, 'work.request'), E.INVALID_BODY);
  });
});

describe('types, header and body', () => {
  it('refuses an unknown message type', () => {
    const error = rejects(signObject(header('agent.reboot', {})), E.UNKNOWN_TYPE);
    expect(error.message).toContain('agent.reboot');
  });

  it('refuses a payload without a type', () => {
    const { type: _, ...rest } = header('agent.heartbeat', heartbeat);
    rejects(signText(canonicalJson(rest), 'agent.heartbeat'), E.UNKNOWN_TYPE);
  });

  it('refuses a type inherited from Object.prototype', () => {
    rejects(signObject(header('constructor', {})), E.UNKNOWN_TYPE);
  });

  for (const field of ['v', 'signer', 'ts', 'nonce', 'body']) {
    it(`refuses a header without ${field}`, () => {
      const payload = header('agent.heartbeat', heartbeat);
      delete payload[field];
      rejects(signObject(payload), E.MALFORMED);
    });
  }

  it('refuses an extra header field', () => {
    rejects(signObject(header('agent.heartbeat', heartbeat, { hub: 'h1' })), E.MALFORMED);
  });

  const wrongHeaders: Record<string, Record<string, unknown>> = {
    'ts as a string': { ts: String(NOW) },
    'ts negative': { ts: -1 },
    'ts fractional': { ts: NOW + 0.5 },
    'v as a string': { v: '1' },
    'signer in upper case': { signer: alice.publicKeyHex.toUpperCase() },
    'signer too short': { signer: alice.publicKeyHex.slice(2) },
    'nonce of 8 bytes': { nonce: 'ab'.repeat(8) },
    'nonce as a number': { nonce: 12 },
  };
  for (const [name, overrides] of Object.entries(wrongHeaders)) {
    it(`refuses a header with ${name}`, () => {
      rejects(signObject(header('agent.heartbeat', heartbeat, overrides)), E.MALFORMED);
    });
  }

  it('refuses another protocol version', () => {
    const error = rejects(signObject(header('agent.heartbeat', heartbeat, { v: 2 })), E.UNSUPPORTED_VERSION);
    expect(error.message).toContain('2');
  });

  const wrongBodies: Record<string, unknown> = {
    'a missing field': { total: heartbeat.total, free: heartbeat.free },
    'an extra field': { ...heartbeat, load: 0.5 },
    'a string where a number belongs': { ...heartbeat, free: { cpu: '4', ramGb: 1 } },
    'a negative resource': { ...heartbeat, free: { cpu: -1, ramGb: 1 } },
    'an id that is not 32 bytes of hex': { ...heartbeat, running: ['xyz'] },
    'too many running ids': { ...heartbeat, running: Array.from({ length: 65 }, (_, i) => i.toString(16).padStart(64, '0')) },
    'null': null,
    'an array': [],
  };
  for (const [name, body] of Object.entries(wrongBodies)) {
    it(`refuses a heartbeat body with ${name}`, () => {
      rejects(signObject(header('agent.heartbeat', body)), E.INVALID_BODY);
    });
  }

  it('names the offending field', () => {
    const error = rejects(signObject(header('result', { ...sampleBody.result, outcome: 'maybe' })), E.INVALID_BODY);
    expect(error.message).toContain('/outcome');
  });
});

describe('envelope shape and size', () => {
  const good = seal('agent.heartbeat', heartbeat, alice, { now: NOW });

  it('refuses malformed JSON text', () => rejects('{"payload": ', E.MALFORMED));
  it('refuses a payload that is not JSON', () => rejects(signText('{"v":1,', 'agent.heartbeat'), E.MALFORMED));
  it('refuses a payload that is a JSON array', () => rejects(signText('[1,2]', 'agent.heartbeat'), E.MALFORMED));
  it('refuses a payload that is a JSON string', () => rejects(signText('"hello"', 'agent.heartbeat'), E.MALFORMED));
  it('refuses null, numbers and arrays as envelopes', () => {
    for (const input of [null, undefined, 42, [good], 'null']) rejects(input, E.MALFORMED);
  });
  it('refuses an envelope with an extra field', () => rejects({ ...good, from: 'hub' }, E.MALFORMED));
  it('refuses an envelope without a signature', () => rejects({ payload: good.payload }, E.MALFORMED));
  it('refuses a payload that is not a string', () => rejects({ payload: JSON.parse(good.payload), sig: good.sig }, E.MALFORMED));
  it('refuses a signature in upper case or of the wrong length', () => {
    rejects({ ...good, sig: good.sig.toUpperCase() }, E.MALFORMED);
    rejects({ ...good, sig: good.sig.slice(2) }, E.MALFORMED);
  });

  it('refuses a payload over its type\'s cap before parsing its body', () => {
    const cap = DEFAULT_MAX_PAYLOAD_BYTES['agent.heartbeat'];
    const big = signObject(header('agent.heartbeat', { ...heartbeat, pad: 'x'.repeat(cap) }));
    const error = rejects(big, E.OVERSIZED);
    expect(error.message).toContain(String(cap));
  });

  it('counts the cap in UTF-8 bytes, not characters', () => {
    const cap = DEFAULT_MAX_PAYLOAD_BYTES['agent.register'];
    // 'é' is 2 bytes: the text is under the cap in characters and over it in bytes.
    const name = 'é'.repeat(Math.ceil(cap / 2));
    const text = canonicalJson(header('agent.register', { ...sampleBody['agent.register'], name }));
    expect(text.length).toBeLessThan(cap + 400);
    expect(Buffer.byteLength(text)).toBeGreaterThan(cap);
    rejects(signText(text, 'agent.register'), E.OVERSIZED);
  });

  it('honours a per-type cap given by the receiver, to the byte', () => {
    const size = Buffer.byteLength(good.payload);
    expect(opens(good, { maxBytes: { 'agent.heartbeat': size } }).type).toBe('agent.heartbeat');
    rejects(good, E.OVERSIZED, { maxBytes: { 'agent.heartbeat': size - 1 } });
  });

  it('refuses anything larger than the largest cap of any type, whatever it claims to be', () => {
    const largest = Math.max(...Object.values(DEFAULT_MAX_PAYLOAD_BYTES));
    rejects({ payload: ' '.repeat(largest + 1), sig: good.sig }, E.OVERSIZED);
    rejects(' '.repeat(largest * 2 + 1), E.OVERSIZED);
  });
});

describe('openOffThread', () => {
  it('opens what open() opens and refuses, with the same code, what it refuses', async () => {
    const options = (replay: ReplayGuard): OpenOptions<'agent.heartbeat'> => ({ verifier, expect: ['agent.heartbeat'], now: NOW, replay });
    const good = seal('agent.heartbeat', heartbeat, alice, { now: NOW, nonce: freshNonce() });
    const flipped = { ...good, sig: (good.sig[0] === '0' ? '1' : '0') + good.sig.slice(1) };
    const stale = seal('agent.heartbeat', heartbeat, alice, { now: NOW - 200_000, nonce: freshNonce() });
    const replay = new ReplayGuard();
    const opened = await openOffThread(good, options(replay));
    expect(opened).toMatchObject({ type: 'agent.heartbeat', signer: alice.publicKeyHex, body: heartbeat, envelope: good });
    expect(opened.id).toBe(open(good, { verifier }).id);
    const codeOf = async (input: unknown, guard: ReplayGuard) => openOffThread(input, options(guard)).then(() => 'opened', (err: EnvelopeError) => err.code);
    expect(await codeOf(good, replay)).toBe(E.REPLAYED);
    expect(await codeOf(flipped, new ReplayGuard())).toBe(E.BAD_SIGNATURE);
    expect(await codeOf(stale, new ReplayGuard())).toBe(E.STALE);
    expect(await codeOf('{', new ReplayGuard())).toBe(E.MALFORMED);
  });
});
