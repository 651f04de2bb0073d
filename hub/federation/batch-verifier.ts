import { createHash } from 'node:crypto';
import { isPublicKeyHex } from '../../keys/verifier.ts';
import { VerifyPool } from '../../keys/verify-pool.ts';
import { signedBytes } from '../../protocol/envelope.ts';
import { isMessageType, type Envelope } from '../../protocol/messages.ts';

/**
 * A Verifier that can check many signatures at once on worker threads (keys/verify-pool.ts), and
 * remembers what it checked so that `open()`, run afterwards on the main thread, does not check it
 * again.
 *
 * Why: a hub catching up receives thousands of log entries, each carrying more signed envelopes
 * (a task's spec, a decision's results). One Ed25519 verify costs 60-200 µs; done one by one on
 * the main thread they were a third of the catch-up, and they held the thread that applies the
 * entries. `prepare(envelopes)` verifies a whole sync page (and what it carries) in parallel, off
 * the main thread, while the previous page is applied.
 *
 * The memo is sound: a verdict is remembered under (key, signature) together with the sha256 of
 * the message, so a signature reused over other bytes misses and is verified for real. Only
 * successes are remembered; a failure is verified again by `open()`, which names the reason.
 */
export class BatchVerifier extends VerifyPool {
  private readonly verified = new Map<string, string>();
  private readonly maxVerified: number;

  constructor(options: { maxKeys?: number; maxVerified?: number } = {}) {
    super(options.maxKeys === undefined ? {} : { maxKeys: options.maxKeys });
    this.maxVerified = options.maxVerified ?? 50_000;
  }

  override verify(publicKeyHex: string, message: Uint8Array, signature: Uint8Array): boolean {
    const memo = this.verified.get(memoKey(publicKeyHex, signature));
    if (memo !== undefined && memo === digest(message)) return true;
    return super.verify(publicKeyHex, message, signature);
  }

  /**
   * Verifies the envelopes' signatures (and those of the envelopes nested in them: `nested`) on
   * the thread pool and remembers the good ones. Never throws: what is malformed or fails is left
   * for `open()` to refuse with its reason.
   */
  async prepare(envelopes: readonly Envelope[], nested: (body: unknown, type: string) => readonly unknown[] = () => []): Promise<void> {
    const jobs: Array<Promise<void>> = [];
    const queue = (envelope: unknown, depth: number): void => {
      const job = parse(envelope);
      if (job === undefined) return;
      jobs.push(this.verifyAndRemember(job.signer, job.bytes, job.sig));
      if (depth === 0) for (const inner of nested(job.body, job.type)) queue(inner, 1);
    };
    for (const envelope of envelopes) queue(envelope, 0);
    await Promise.all(jobs);
  }

  private async verifyAndRemember(publicKeyHex: string, message: Uint8Array, signature: Buffer): Promise<void> {
    const key = memoKey(publicKeyHex, signature);
    if (this.verified.has(key)) return;
    if (await this.verifyOffThread(publicKeyHex, message, signature)) this.remember(key, digest(message));
  }

  private remember(key: string, messageDigest: string): void {
    this.verified.set(key, messageDigest);
    if (this.verified.size > this.maxVerified) this.verified.delete(this.verified.keys().next().value!);
  }
}

function memoKey(publicKeyHex: string, signature: Uint8Array): string {
  return `${publicKeyHex}:${Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString('base64')}`;
}

function digest(message: Uint8Array): string {
  return createHash('sha256').update(message).digest('base64');
}

const SIG = /^[0-9a-f]{128}$/;

/** Just enough of an envelope to check its signature; undefined for anything open() would refuse anyway. */
function parse(envelope: unknown): { signer: string; type: string; body: unknown; bytes: Uint8Array; sig: Buffer } | undefined {
  if (envelope === null || typeof envelope !== 'object') return undefined;
  const { payload, sig } = envelope as { payload?: unknown; sig?: unknown };
  if (typeof payload !== 'string' || typeof sig !== 'string' || !SIG.test(sig)) return undefined;
  let message: { type?: unknown; signer?: unknown; body?: unknown };
  try {
    message = JSON.parse(payload) as typeof message;
  } catch {
    return undefined;
  }
  if (message === null || typeof message !== 'object' || !isMessageType(message.type) || typeof message.signer !== 'string' || !isPublicKeyHex(message.signer)) return undefined;
  return { signer: message.signer, type: message.type, body: message.body, bytes: signedBytes(message.type, payload), sig: Buffer.from(sig, 'hex') };
}
