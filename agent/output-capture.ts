import { Writable } from 'node:stream';
import type { ResultDigest } from '../protocol/digest.ts';

/**
 * A sink for one of a container's output streams that keeps at most `cap` bytes and drops the
 * rest, while still counting every byte and feeding every byte to the result digest. Memory stays
 * bounded by `cap` however much a task prints; the digest still covers the whole stream, so agents
 * with different caps agree on it.
 */
export class CappedOutput extends Writable {
  readonly cap: number;
  /** Bytes received, kept or not. */
  total = 0;
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  private readonly digest: ResultDigest | undefined;

  constructor(cap: number, digest?: ResultDigest) {
    super();
    this.cap = cap;
    this.digest = digest;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.total += chunk.length;
    this.digest?.update(chunk);
    const room = this.cap - this.keptBytes;
    if (room > 0) {
      // A copy, not a view: the demultiplexer's chunks are slices of its larger read buffers,
      // and a view would keep those alive.
      const part = Buffer.from(chunk.subarray(0, room));
      this.kept.push(part);
      this.keptBytes += part.length;
    }
    done();
  }

  get truncated(): boolean {
    return this.total > this.cap;
  }

  /** The kept bytes, at most `cap` of them. */
  contents(): Buffer {
    return Buffer.concat(this.kept, this.keptBytes);
  }
}
