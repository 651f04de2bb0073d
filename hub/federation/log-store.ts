import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AbstractSublevel } from 'abstract-level';
import { Level } from 'level';
import type { Envelope } from '../../protocol/messages.ts';
import { LogCorruptError, LogOutOfOrderError } from './errors.ts';
import type { LogEntry } from './log-entry.ts';

/**
 * The per-origin append-only logs a hub keeps: its own, and copies of every other hub's it has
 * received (LevelDB in `<dataDir>/federation`, apart from the engine's `db/`).
 *
 * Layout: `entry` maps `<origin>/<seq, 16 digits>` to the envelope, `id` maps content ids to that
 * key (de-duplication), `head` maps each origin to its contiguous head: the highest seq up to which
 * nothing is missing; `peer` remembers the hub peers met (peer id to listen addresses). Entries can arrive out of order (gossip does not wait); they are kept, and
 * the head moves over them once the gap before them is filled. Sync asks peers for what follows
 * the heads, so a hole is always asked for again, never skipped.
 *
 * Writes are applied one at a time in call order, each one atomic batch (entries, ids and heads
 * together: one entry, or a whole sync page), so a crash leaves either the old log or the new one.
 */

type JsonSublevel<V> = AbstractSublevel<Level<string, string>, string | Buffer | Uint8Array, string, V>;

export type AppendOutcome = 'appended' | 'duplicate' | 'conflict';

export interface Page {
  entries: Envelope[];
  more: boolean;
}

const SEQ_DIGITS = 16;
const keyOf = (origin: string, seq: number): string => `${origin}/${String(seq).padStart(SEQ_DIGITS, '0')}`;
const ORIGIN_RE = /^[0-9a-f]{32}$/;

/** Size of an envelope's JSON text: what it costs inside a sync response's payload. */
export function envelopeBytes(envelope: Envelope): number {
  return Buffer.byteLength(JSON.stringify(envelope), 'utf8');
}

export class FederationLogStore {
  private readonly db: Level<string, string>;
  private readonly entries: JsonSublevel<Envelope>;
  private readonly ids: JsonSublevel<string>;
  private readonly headsDb: JsonSublevel<number>;
  private readonly peersDb: JsonSublevel<string[]>;
  /** Contiguous head per origin (0: entries exist only beyond a gap). */
  private readonly head = new Map<string, number>();
  /** Seqs held beyond each origin's head, waiting for the gap to close. */
  private readonly pending = new Map<string, Set<number>>();
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(location: string) {
    this.db = new Level<string, string>(location);
    this.entries = this.db.sublevel<string, Envelope>('entry', { valueEncoding: 'json' });
    this.ids = this.db.sublevel<string, string>('id', { valueEncoding: 'utf8' });
    this.headsDb = this.db.sublevel<string, number>('head', { valueEncoding: 'json' });
    this.peersDb = this.db.sublevel<string, string[]>('peer', { valueEncoding: 'json' });
  }

  /** Opens (creating) the log in `<dataDir>/federation`. */
  static async open(dataDir: string): Promise<FederationLogStore> {
    const location = join(dataDir, 'federation');
    await mkdir(location, { recursive: true, mode: 0o700 });
    const store = new FederationLogStore(location);
    await store.db.open();
    try {
      await store.load();
    } catch (err) {
      await store.db.close();
      throw err;
    }
    return store;
  }

  private async load(): Promise<void> {
    for await (const [origin, head] of this.headsDb.iterator()) {
      if (!ORIGIN_RE.test(origin) || !Number.isSafeInteger(head) || head < 0) throw new LogCorruptError(`federation log: bad head ${JSON.stringify(head)} for ${JSON.stringify(origin)}`);
      this.head.set(origin, head);
      const beyond = new Set<number>();
      for await (const key of this.entries.keys({ gt: keyOf(origin, head), lte: keyOf(origin, 10 ** SEQ_DIGITS - 1) })) {
        beyond.add(Number(key.slice(origin.length + 1)));
      }
      if (beyond.size > 0) this.pending.set(origin, beyond);
    }
  }

  async close(): Promise<void> {
    await this.tail.catch(() => undefined);
    await this.db.close();
  }

  /** The contiguous head of every origin with at least one entry in order, e.g. `{ <node id>: 12 }`. */
  heads(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [origin, head] of this.head) if (head > 0) out[origin] = head;
    return out;
  }

  headOf(origin: string): number {
    return this.head.get(origin) ?? 0;
  }

  /** Every origin this log holds anything of, sorted. */
  origins(): string[] {
    return [...this.head.keys()].sort();
  }

  /** Whether this log holds `origin`'s entry `seq` (in order, or beyond a gap). In memory, no read. */
  holds(origin: string, seq: number): boolean {
    return seq <= this.headOf(origin) || (this.pending.get(origin)?.has(seq) ?? false);
  }

  async has(id: string): Promise<boolean> {
    return (await this.ids.get(id)) !== undefined;
  }

  /**
   * Stores an entry received from its origin or a relay; an equivocation keeps the first entry.
   * `own`: this hub's own entry, which must be the next one (a gap in its own log is a hole no peer
   * could ever fill).
   */
  append(entry: LogEntry, options: { own?: boolean } = {}): Promise<AppendOutcome> {
    return this.serial(async () => {
      if (options.own === true && entry.seq !== this.headOf(entry.origin) + 1 && !(await this.has(entry.id))) {
        throw new LogOutOfOrderError(entry.seq, this.headOf(entry.origin) + 1);
      }
      return this.write(entry);
    });
  }

  /**
   * Stores many received entries in one atomic batch (a sync page): what a catching-up hub writes
   * a thousand at a time. Outcomes in the order given; as `append` would answer one by one.
   */
  appendMany(entries: readonly LogEntry[]): Promise<AppendOutcome[]> {
    return this.serial(() => this.writeMany(entries));
  }

  /**
   * Appends this hub's own next entry: `make(seq)` builds (signs) it for the next free seq, inside
   * the write chain, so concurrent callers never sign two entries with one seq.
   */
  appendNext(origin: string, make: (seq: number) => LogEntry): Promise<LogEntry> {
    return this.serial(async () => {
      const seq = this.headOf(origin) + 1;
      const entry = make(seq);
      if (entry.origin !== origin || entry.seq !== seq) throw new LogOutOfOrderError(entry.seq, seq);
      const outcome = await this.write(entry);
      if (outcome !== 'appended') throw new LogOutOfOrderError(entry.seq, seq);
      return entry;
    });
  }

  /** Entries of `origin` after `after`, in order, up to the contiguous head, within both limits (at least one). */
  async since(origin: string, after: number, limit: number, maxBytes: number): Promise<Page> {
    const head = this.headOf(origin);
    if (after >= head) return { entries: [], more: false };
    const entries: Envelope[] = [];
    let bytes = 0;
    let last = after;
    for await (const [key, envelope] of this.entries.iterator({ gt: keyOf(origin, after), lte: keyOf(origin, head), limit })) {
      const size = envelopeBytes(envelope);
      if (entries.length > 0 && bytes + size > maxBytes) break;
      entries.push(envelope);
      bytes += size;
      last = Number(key.slice(origin.length + 1));
    }
    return { entries, more: last < head };
  }

  /**
   * The last entry of `origin` that `match` accepts, newest first (`match` sees the parsed signed
   * payload). A scan of that origin's log: for rare look-ups (a verdict to void), not a hot path.
   */
  async findLast(origin: string, match: (payload: { type?: unknown; body?: unknown }) => boolean): Promise<Envelope | undefined> {
    for await (const envelope of this.entries.values({ gt: keyOf(origin, 0), lte: keyOf(origin, 10 ** SEQ_DIGITS - 1), reverse: true })) {
      let payload: unknown;
      try {
        payload = JSON.parse(envelope.payload);
      } catch {
        continue;
      }
      if (payload !== null && typeof payload === 'object' && match(payload as { type?: unknown; body?: unknown })) return envelope;
    }
    return undefined;
  }

  /**
   * The directory: the first entry (seq 1) of every origin, origins in sorted order, skipping the
   * first `skip`. Each one proves, by its signature, that the origin exists and what its log begins
   * with; a peer that did not know the origin stores it and asks for the rest.
   */
  async firsts(skip: number, limit: number, maxBytes: number): Promise<Page> {
    const origins = this.origins().filter((o) => this.headOf(o) >= 1);
    const entries: Envelope[] = [];
    let bytes = 0;
    let index = skip;
    for (; index < origins.length && entries.length < limit; index++) {
      const envelope = await this.entries.get(keyOf(origins[index]!, 1));
      if (envelope === undefined) throw new LogCorruptError(`federation log: entry 1 of ${origins[index]} is missing below its head`);
      const size = envelopeBytes(envelope);
      if (entries.length > 0 && bytes + size > maxBytes) break;
      entries.push(envelope);
      bytes += size;
    }
    return { entries, more: index < origins.length };
  }

  /**
   * Remembers a hub peer and its listen addresses, so that after a restart this hub dials the
   * hubs it knew even when its bootstrap list is stale or empty.
   */
  rememberPeer(peerId: string, addrs: readonly string[]): Promise<void> {
    return this.serial(() => this.peersDb.put(peerId, [...addrs]));
  }

  async rememberedPeers(): Promise<Array<[string, string[]]>> {
    const out: Array<[string, string[]]> = [];
    for await (const [peerId, addrs] of this.peersDb.iterator()) {
      if (Array.isArray(addrs) && addrs.every((a) => typeof a === 'string')) out.push([peerId, addrs]);
    }
    return out;
  }

  private async write(entry: LogEntry): Promise<AppendOutcome> {
    return (await this.writeMany([entry]))[0]!;
  }

  private async writeMany(entries: readonly LogEntry[]): Promise<AppendOutcome[]> {
    if (entries.length === 0) return [];
    const keys = entries.map((e) => keyOf(e.origin, e.seq));
    const [byId, byKey] = await Promise.all([this.ids.getMany(entries.map((e) => e.id)), this.entries.getMany(keys)]);
    // Copies: memory changes only once the batch is on disk.
    const heads = new Map<string, number>();
    const waiting = new Map<string, Set<number>>();
    const written = new Set<string>();
    const outcomes: AppendOutcome[] = [];
    const batch = this.db.batch();
    entries.forEach((entry, i) => {
      const key = keys[i]!;
      if (byId[i] !== undefined || written.has(`id:${entry.id}`)) return void outcomes.push('duplicate');
      if (byKey[i] !== undefined || written.has(key)) return void outcomes.push('conflict');
      written.add(`id:${entry.id}`);
      written.add(key);
      let head = heads.get(entry.origin) ?? this.headOf(entry.origin);
      let set = waiting.get(entry.origin);
      if (set === undefined) waiting.set(entry.origin, (set = new Set(this.pending.get(entry.origin))));
      if (entry.seq === head + 1) {
        head++;
        while (set.delete(head + 1)) head++;
      } else {
        set.add(entry.seq);
      }
      heads.set(entry.origin, head);
      batch.put(key, entry.envelope, { sublevel: this.entries });
      batch.put(entry.id, key, { sublevel: this.ids });
      outcomes.push('appended');
    });
    for (const [origin, head] of heads) {
      if (head !== this.headOf(origin) || !this.head.has(origin)) batch.put(origin, head, { sublevel: this.headsDb });
    }
    if (batch.length === 0) {
      await batch.close();
      return outcomes;
    }
    await batch.write();
    for (const [origin, head] of heads) this.head.set(origin, head);
    for (const [origin, set] of waiting) {
      if (set.size > 0) this.pending.set(origin, set);
      else this.pending.delete(origin);
    }
    return outcomes;
  }

  private serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.tail.then(job, job);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
