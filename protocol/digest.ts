import { createHash, type Hash } from 'node:crypto';

/**
 * The digest consensus compares. It covers the exit code and the WHOLE stdout stream (not the
 * capped copy a result carries), so honest agents with different output caps still agree:
 *
 *   digest = hex(sha256( "dcloud-result-v1\n" || decimal(exitCode) || "\n" || sha256(stdout) ))
 *
 * stdout is hashed on its own first so an agent can stream it without keeping it.
 */
export class ResultDigest {
  private readonly stdout: Hash = createHash('sha256');

  update(chunk: Uint8Array): this {
    this.stdout.update(chunk);
    return this;
  }

  finish(exitCode: number): string {
    return resultDigest(exitCode, this.stdout.digest());
  }
}

/** `stdoutSha256` is the raw 32-byte sha256 of the complete stdout. */
export function resultDigest(exitCode: number, stdoutSha256: Uint8Array): string {
  return createHash('sha256').update(`dcloud-result-v1\n${exitCode}\n`).update(stdoutSha256).digest('hex');
}

/** Convenience for a stdout held whole (tests, simulated agents). */
export function digestOf(exitCode: number, stdout: Uint8Array | string): string {
  return new ResultDigest().update(typeof stdout === 'string' ? Buffer.from(stdout) : stdout).finish(exitCode);
}
