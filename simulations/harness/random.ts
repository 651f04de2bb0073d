import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';

/**
 * A seeded random source: the only randomness a simulation may use, so one seed fixes a whole run.
 *
 * Independent streams (`stream()`) come from xoroshiro128+ jumps (2^64 steps apart), so what is
 * drawn from one stream stays the same however much another stream is consumed: FIFO and the
 * heuristic are compared on the very same agents and tasks.
 */
export class Random {
  #rng: JumpableRandomGenerator;
  /** Box-Muller yields two normals per draw; the second is kept for the next call. */
  #spareNormal: number | undefined;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    // xoroshiro128+ takes 32 bits; fold the high part in so seeds above 2^32 still differ. Its
    // state starts nearly all zero bits (first outputs near 0 or 1): mix the seed, then warm up.
    this.#rng = xoroshiro128plus(mix32((seed ^ Math.floor(seed / 0x1_0000_0000)) | 0));
    for (let i = 0; i < 16; i++) this.#rng.next();
  }

  /** A new source independent of this one (and of every other stream taken from it). */
  stream(): Random {
    const child = new Random(0);
    child.#rng = this.#rng.clone();
    this.#rng.jump();
    return child;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return uniformFloat64(this.#rng);
  }

  /** U{a..b}: an integer, both ends included. */
  int(a: number, b: number): number {
    return uniformInt(this.#rng, a, b);
  }

  /** U(a, b): a real in [a, b). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.float();
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** N(mu, sigma) by the Box-Muller transform. */
  normal(mu: number, sigma: number): number {
    let z = this.#spareNormal;
    if (z === undefined) {
      // 1 - float() lies in (0, 1]: the logarithm stays finite.
      const r = Math.sqrt(-2 * Math.log(1 - this.float()));
      const theta = 2 * Math.PI * this.float();
      z = r * Math.cos(theta);
      this.#spareNormal = r * Math.sin(theta);
    } else {
      this.#spareNormal = undefined;
    }
    return mu + sigma * z;
  }

  /** Exponential with the given mean (not rate). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.float());
  }

  /** Lognormal: exp of N(mu, sigma), the parameters of the underlying normal. */
  lognormal(mu: number, sigma: number): number {
    return Math.exp(this.normal(mu, sigma));
  }

  /** One of `items`, item i with probability weights[i] / sum(weights). */
  weighted<T>(items: readonly T[], weights: readonly number[]): T {
    if (items.length === 0 || items.length !== weights.length) {
      throw new RangeError('weighted choice needs as many weights as items, and at least one');
    }
    let total = 0;
    for (const w of weights) total += w;
    let x = this.float() * total;
    for (let i = 0; i < items.length; i++) {
      x -= weights[i]!;
      if (x < 0) return items[i]!;
    }
    return items[items.length - 1]!;
  }
}

/** The murmur3 finalizer: spreads every seed bit over the 32 bits of the result. */
function mix32(x: number): number {
  let h = x ^ (x >>> 16);
  h = Math.imul(h, 0x85eb_ca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2_ae35);
  return h ^ (h >>> 16);
}
