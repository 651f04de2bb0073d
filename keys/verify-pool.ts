import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { isPublicKeyHex, Verifier } from './verifier.ts';

/**
 * The workers' whole program, inlined (eval) so that it needs no file of its own next to a bundled
 * CLI. A batch is one transferred buffer of items laid out as
 * [32-byte key][64-byte signature][uint32 LE message length][message]; the answer is one byte per
 * item (1: verified). Keys are imported once per worker (bounded, oldest dropped first).
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const keys = new Map();
function keyOf(raw) {
  const hex = raw.toString('hex');
  let key = keys.get(hex);
  if (key === undefined) {
    key = createPublicKey({ key: Buffer.concat([SPKI, raw]), format: 'der', type: 'spki' });
    if (keys.size >= 50000) keys.delete(keys.keys().next().value);
    keys.set(hex, key);
  }
  return key;
}
parentPort.on('message', ({ id, data, count }) => {
  const buf = Buffer.from(data);
  const verdicts = new Uint8Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const length = buf.readUInt32LE(at + 96);
    try {
      verdicts[i] = verify(null, buf.subarray(at + 100, at + 100 + length), keyOf(buf.subarray(at, at + 32)), buf.subarray(at + 32, at + 96)) ? 1 : 0;
    } catch {
      verdicts[i] = 0;
    }
    at += 100 + length;
  }
  parentPort.postMessage({ id, verdicts }, [verdicts.buffer]);
});
`;

const HEADER = 100;

interface Pending {
  publicKeyHex: string;
  message: Uint8Array;
  signature: Uint8Array;
  resolve: (ok: boolean) => void;
}

interface PoolWorker {
  worker: Worker;
  /** Items posted and not answered yet, for choosing the least busy worker. */
  outstanding: number;
}

export interface VerifyPoolOptions {
  /** Worker threads; default: one per core but the one the event loop runs on (at least one). */
  threads?: number;
  /** Bounded cache of imported keys on the event loop's side (for the checks made before posting). */
  maxKeys?: number;
}

/**
 * A Verifier whose verifyOffThread() batches signatures to a few worker threads: every signature
 * to check in one turn of the event loop goes in one message, so the event loop pays a copy and a
 * promise per signature instead of a thread-pool job each (about as costly, on a busy 2-core
 * machine, as a third of the verify itself). Workers start on first use and are unref'd; close()
 * ends them. Should a worker fail, its batch is verified on libuv's thread pool instead: a
 * signature is never taken for good without a verify.
 */
export class VerifyPool extends Verifier {
  private readonly threads: number;
  private readonly workers: PoolWorker[] = [];
  private readonly inFlight = new Map<number, { items: Pending[]; worker: PoolWorker }>();
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private nextBatch = 0;

  constructor(options: VerifyPoolOptions = {}) {
    super(options.maxKeys === undefined ? {} : { maxKeys: options.maxKeys });
    this.threads = Math.max(1, options.threads ?? availableParallelism() - 1);
  }

  override verifyOffThread(publicKeyHex: string, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    // What cannot verify is answered here, as verify() would: a bad length, text that is no key.
    // (A key that is no point on the curve is the worker's to refuse: importing it here too would
    // cost the event loop a third of a verify for every new agent.)
    if (signature.length !== 64 || !isPublicKeyHex(publicKeyHex)) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.queue.push({ publicKeyHex, message, signature, resolve });
      this.queuedBytes += HEADER + message.length;
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Ends the workers (what they still owed is verified on the thread pool); later use starts new ones. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  private flush(): void {
    this.flushScheduled = false;
    const items = this.queue;
    if (items.length === 0) return;
    this.queue = [];
    const size = this.queuedBytes;
    this.queuedBytes = 0;

    const data = Buffer.allocUnsafe(size);
    let at = 0;
    for (const item of items) {
      data.write(item.publicKeyHex, at, 32, 'hex');
      data.set(item.signature, at + 32);
      data.writeUInt32LE(item.message.length, at + 96);
      data.set(item.message, at + HEADER);
      at += HEADER + item.message.length;
    }
    const worker = this.leastBusy();
    const id = this.nextBatch++;
    worker.outstanding += items.length;
    this.inFlight.set(id, { items, worker });
    // A Buffer this small may sit in Node's shared pool: transfer a copy that owns its memory.
    const transferable = data.buffer.byteLength === data.length ? data.buffer : data.buffer.slice(data.byteOffset, data.byteOffset + data.length);
    worker.worker.postMessage({ id, data: transferable, count: items.length }, [transferable as ArrayBuffer]);
  }

  private leastBusy(): PoolWorker {
    if (this.workers.length < this.threads && this.workers.every((w) => w.outstanding > 0)) return this.spawn();
    let best = this.workers[0]!;
    for (const w of this.workers) if (w.outstanding < best.outstanding) best = w;
    return best;
  }

  private spawn(): PoolWorker {
    const entry: PoolWorker = { worker: new Worker(WORKER_SOURCE, { eval: true }), outstanding: 0 };
    entry.worker.unref();
    entry.worker.on('message', ({ id, verdicts }: { id: number; verdicts: Uint8Array }) => {
      const batch = this.inFlight.get(id);
      if (batch === undefined) return;
      this.inFlight.delete(id);
      entry.outstanding -= batch.items.length;
      batch.items.forEach((item, i) => item.resolve(verdicts[i] === 1));
    });
    const lost = () => {
      const at = this.workers.indexOf(entry);
      if (at >= 0) this.workers.splice(at, 1);
      for (const [id, batch] of this.inFlight) {
        if (batch.worker !== entry) continue;
        this.inFlight.delete(id);
        this.fallBack(batch.items);
      }
    };
    entry.worker.on('error', lost);
    entry.worker.on('exit', lost);
    this.workers.push(entry);
    return entry;
  }

  private fallBack(items: readonly Pending[]): void {
    for (const item of items) void super.verifyOffThread(item.publicKeyHex, item.message, item.signature).then(item.resolve);
  }
}
