import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MessageBody } from '../protocol/messages.ts';
import { powSolves } from '../protocol/pow.ts';
import { PowInvalidError, PowRequiredError } from './errors.ts';

/**
 * Registration gates (docs/HUB-ENGINE.md, "Registration"): a proof of work a new key must pay
 * (`--registration-pow-bits`), so that minting identities costs work, not only a key pair.
 *
 * Challenges are stateless: `<expiry, base 36>.<random>.<HMAC of both under a secret of this
 * process>`, so the hub remembers none and a forged or stale one is recognised. A restart changes
 * the secret: a challenge fetched before it is refused and the agent fetches another.
 */

export interface PowChallenge {
  challenge: string;
  bits: number;
  expiresAt: number;
}

export interface RegistrationGate {
  readonly powBits: number;
  challenge(now: number): PowChallenge;
  /** Throws PowRequiredError / PowInvalidError unless `pow` proves the work for `publicKey`. */
  check(pow: MessageBody<'agent.register'>['pow'], publicKey: string, now: number): void;
}

export function createRegistrationGate(options: { powBits: number; challengeTtlMs?: number }): RegistrationGate {
  const secret = randomBytes(32);
  const ttl = options.challengeTtlMs ?? 10 * 60_000;
  const mac = (text: string): string => createHmac('sha256', secret).update(text).digest('hex').slice(0, 32);
  return {
    powBits: options.powBits,
    challenge(now) {
      const expiresAt = now + ttl;
      const head = `${expiresAt.toString(36)}.${randomBytes(12).toString('hex')}`;
      return { challenge: `${head}.${mac(head)}`, bits: options.powBits, expiresAt };
    },
    check(pow, publicKey, now) {
      if (options.powBits <= 0) return;
      if (pow?.challenge === undefined) throw new PowRequiredError(options.powBits);
      const parts = pow.challenge.split('.');
      const [expiry, random, tag] = parts;
      if (parts.length !== 3 || expiry === undefined || random === undefined || tag === undefined) throw new PowInvalidError('the challenge is not one of this hub\'s');
      const expected = Buffer.from(mac(`${expiry}.${random}`));
      const given = Buffer.from(tag);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new PowInvalidError('the challenge is not one of this hub\'s (or the hub restarted since)');
      if (Number.parseInt(expiry, 36) < now) throw new PowInvalidError('the challenge expired: fetch another');
      if (!powSolves(pow.challenge, publicKey, pow.nonce, options.powBits)) throw new PowInvalidError(`the nonce does not give ${options.powBits} leading zero bits`);
    },
  };
}
