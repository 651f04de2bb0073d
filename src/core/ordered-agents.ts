import { InvalidParamsError } from './errors.ts';

/**
 * An ordered set of agents with per-block aggregates, for the capacity index.
 *
 * Entries are ordered by `key` ascending (a size: cpu + ram / 2 of free or total capacity), then
 * trust descending (unless trustBreaksTies is off), then id, so a walk from a lower bound meets
 * the best-fitting agents first, trust breaking ties. They are kept as one sorted list cut into
 * blocks of at most 2 * blockSize entries (nearly empty ones are joined to a neighbour); every
 * block knows the largest cpu, ram and active trust in it, so a walk
 * skips whole blocks that cannot hold a match, and the set knows them over all blocks, so looking
 * for 4 free cores when every agent is busy costs O(1), not a scan.
 *
 * Why blocks, not a balanced tree: an entry moves on every reservation and every release, the
 * hottest operation of a scheduler. Here a move is two binary searches and two shifts within
 * short arrays, with no allocation; a treap's split and merge rebuilt O(log n) nodes and
 * allocated at each step (about 20 µs a move at 10,000 agents). A block keeps its entries'
 * numbers interleaved in one typed array (an entry's six numbers side by side), so searching,
 * shifting (one memmove) and walking it reads contiguous memory, not one object per entry; and
 * the set keeps every block's last key, trust and rank in one typed array too, so finding the
 * block for a key reads a few cache lines, not a block object per step: at 10,000 agents among a
 * simulation's other data, the cache misses were most of the cost. A walk pays for it with up to
 * n / blockSize block checks where no block matches.
 *
 * A change that leaves an entry between the same neighbours (a trust change where trust does not
 * order, an agent going inactive) is written in place.
 */

export interface OrderedAgentsOptions {
  /** Entries a block holds at least after a split (default 32; tests use small ones). */
  readonly blockSize?: number;
  /**
   * Whether higher trust comes first among equal keys (default true: best fit). A set that is
   * only counted can order by key and id alone: trust changes then never move an entry.
   */
  readonly trustBreaksTies?: boolean;
}

export interface AgentQuery {
  readonly cpu: number;
  readonly ram: number;
  /** cpu + ram / 2 of the request: no entry below it can match, so the walk starts there. */
  readonly minKey: number;
  /** Set: active entries with at least this trust only. */
  readonly trust?: number;
}

/** One entry as the set holds it. Owned by the set: read it at once, do not keep it. */
export interface AgentEntry {
  readonly id: string;
  readonly key: number;
  readonly cpu: number;
  readonly ram: number;
  readonly trust: number;
  readonly active: boolean;
}

/**
 * An entry's place, as `set` returns it: passing it back to `set` moves the entry without
 * looking it up by id. Opaque; stale once the entry is deleted (then `set` looks it up again).
 */
export interface AgentHandle {
  readonly id: string;
}

interface Item extends AgentEntry {
  /** idRank(id): compares as the id does, but as a number. */
  readonly rank: number;
  key: number;
  /** The trust the order reads: the trust, or 0 when trust does not break ties. */
  orderTrust: number;
  cpu: number;
  ram: number;
  trust: number;
  active: boolean;
  /** The block holding it; null while it moves. */
  block: Block | null;
}

/** An entry's numbers, side by side in Block.nums: entry i's field f is nums[i * FIELDS + f]. */
const FIELDS = 6;
const KEY = 0;
/** Item.orderTrust. */
const TRUST = 1;
const RANK = 2;
const CPU = 3;
const RAM = 4;
/** The trust of an active entry, -Infinity for an inactive one: what trust queries compare. */
const LIVE = 5;

/**
 * Entries [0, n) in order: the item and, at the same index, its numbers. Both arrays have the
 * block's full capacity from the start (null items past n): their lengths never change.
 */
interface Block {
  n: number;
  /** Its position in the set's blocks (and directory). */
  index: number;
  items: (Item | null)[];
  nums: Float64Array;
  /** The last entry's key, trust and rank (also in the set's directory). */
  lastKey: number;
  lastTrust: number;
  lastRank: number;
  maxCpu: number;
  maxRam: number;
  /** -Infinity when no entry of the block is active. */
  maxLive: number;
  /** The maxima may be too high (an entry holding one left): recount before relying on them. */
  stale: boolean;
}

interface Maxima {
  cpu: number;
  ram: number;
  live: number;
}

const NONE = Number.NEGATIVE_INFINITY;

export class OrderedAgents {
  private readonly blocks: Block[] = [];
  /** Block b's last key, trust and rank at 3b, 3b + 1, 3b + 2: what the search for a block reads. */
  private directory = new Float64Array(3 * 64);
  private readonly byId = new Map<string, Item>();
  private readonly blockSize: number;
  private readonly trustBreaksTies: boolean;
  private active = 0;
  /** The maxima over every block; null when an entry holding one left and they must be recounted. */
  private maxima: Maxima | null = { cpu: 0, ram: 0, live: NONE };

  constructor(options: OrderedAgentsOptions = {}) {
    const { blockSize = 32, trustBreaksTies = true } = options;
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new InvalidParamsError('blockSize', `must be a positive integer (got ${blockSize})`);
    this.blockSize = blockSize;
    this.trustBreaksTies = trustBreaksTies;
  }

  get size(): number {
    return this.byId.size;
  }

  get activeCount(): number {
    return this.active;
  }

  /** Largest cpu of any entry (0 when empty). */
  get maxCpu(): number {
    return this.currentMaxima().cpu;
  }

  get maxRam(): number {
    return this.currentMaxima().ram;
  }

  /** Highest trust of an active entry, -Infinity when none. */
  get maxActiveTrust(): number {
    return this.currentMaxima().live;
  }

  get(id: string): AgentEntry | undefined {
    return this.byId.get(id);
  }

  /**
   * Inserts the entry with this id, or moves it to its new place; the key is cpu + ram / 2.
   * `handle`: what set returned for this id before (saves the lookup by id).
   */
  set(id: string, cpu: number, ram: number, trust: number, active: boolean, handle?: AgentHandle | null): AgentHandle {
    const held = handle as Item | null | undefined;
    const item = held != null && held.block !== null && held.id === id ? held : this.byId.get(id);
    if (item === undefined) {
      const created: Item = { id, rank: idRank(id), key: 0, orderTrust: 0, cpu, ram, trust, active, block: null };
      this.byId.set(id, created);
      this.write(created, cpu, ram, trust, active);
      this.attach(created);
      return created;
    }
    if (item.cpu === cpu && item.ram === ram && item.trust === trust && item.active === active) return item;
    const block = item.block as Block;
    const at = block.items.indexOf(item);
    const oldCpu = item.cpu;
    const oldRam = item.ram;
    const oldLive = liveOf(item);
    this.write(item, cpu, ram, trust, active);
    if (this.inPlace(block, at, item)) {
      this.rewrite(block, at, item, oldCpu, oldRam, oldLive);
    } else {
      this.detach(block, at, oldCpu, oldRam, oldLive);
      this.attach(item);
    }
    return item;
  }

  delete(id: string): boolean {
    const item = this.byId.get(id);
    if (item === undefined) return false;
    const block = item.block as Block;
    this.detach(block, block.items.indexOf(item), item.cpu, item.ram, liveOf(item));
    this.byId.delete(id);
    return true;
  }

  /** The ids of the first `k` matching entries in order, skipping ids in `exclude`. */
  first(query: AgentQuery, k: number, exclude?: ReadonlySet<string>): string[] {
    return this.firstEntries(query, k, exclude).map((entry) => entry.id);
  }

  /**
   * The first `k` matching entries in order, skipping ids in `exclude`: as `first`, with the
   * numbers the set holds for each, so the caller need not look them up. Read them at once.
   */
  firstEntries(query: AgentQuery, k: number, exclude?: ReadonlySet<string>): AgentEntry[] {
    const out: Item[] = [];
    if (k > 0) this.scan(query, k, exclude, out);
    return out;
  }

  /** How many entries match, counting no further than `limit`. */
  count(query: AgentQuery, limit = Number.POSITIVE_INFINITY, exclude?: ReadonlySet<string>): number {
    return limit > 0 ? this.scan(query, limit, exclude, null) : 0;
  }

  /** Matches in order, up to `limit`, pushed to `out` when given. Returns how many. */
  private scan(q: AgentQuery, limit: number, exclude: ReadonlySet<string> | undefined, out: Item[] | null): number {
    const { cpu, ram } = q;
    const trust = q.trust ?? NONE;
    const maxima = this.currentMaxima();
    if (maxima.cpu < cpu || maxima.ram < ram || maxima.live < trust) return 0;
    const blocks = this.blocks;
    let b = this.firstBlockFrom(q.minKey);
    // Only the first block can hold keys below minKey: start it past them.
    let i = b < blocks.length ? lowerBound(blocks[b] as Block, q.minKey) : 0;
    let n = 0;
    for (; b < blocks.length; b++, i = 0) {
      const block = blocks[b] as Block;
      if (block.maxCpu < cpu || block.maxRam < ram || block.maxLive < trust) continue;
      if (block.stale) {
        recount(block);
        if (block.maxCpu < cpu || block.maxRam < ram || block.maxLive < trust) continue;
      }
      const { nums, items } = block;
      for (let o = i * FIELDS; i < block.n; i++, o += FIELDS) {
        if ((nums[o + CPU] as number) < cpu || (nums[o + RAM] as number) < ram || (nums[o + LIVE] as number) < trust) continue;
        const item = items[i] as Item;
        if (exclude?.has(item.id) === true) continue;
        out?.push(item);
        if (++n >= limit) return n;
      }
    }
    return n;
  }

  /** Index of the first block whose last entry has a key >= `key` (blocks.length when none). */
  private firstBlockFrom(key: number): number {
    const directory = this.directory;
    let lo = 0;
    let hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((directory[3 * mid] as number) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private attach(item: Item): void {
    const blocks = this.blocks;
    if (item.active) this.active += 1;
    if (this.maxima !== null) include(this.maxima, item);
    if (blocks.length === 0) {
      const block = newBlock(2 * this.blockSize + 1);
      blocks.push(block);
      insertAt(block, 0, item);
      this.reindex(0);
      return;
    }
    // The first block whose last entry does not come before `item`; past every block: the last.
    const directory = this.directory;
    let lo = 0;
    let hi = blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const d = 3 * mid;
      if (precedes(directory[d] as number, directory[d + 1] as number, directory[d + 2] as number, blocks[mid] as Block, -1, item)) lo = mid + 1;
      else hi = mid;
    }
    const block = blocks[lo] as Block;
    let at = 0;
    let end = block.n;
    while (at < end) {
      const mid = (at + end) >> 1;
      if (comesBefore(block, mid, item)) at = mid + 1;
      else end = mid;
    }
    insertAt(block, at, item);
    if (block.n > 2 * this.blockSize) this.split(lo);
    else if (at === block.n - 1) this.syncLast(block);
  }

  /** Sets an item's values (not its place). */
  private write(item: Item, cpu: number, ram: number, trust: number, active: boolean): void {
    item.key = cpu + ram / 2;
    item.orderTrust = this.trustBreaksTies ? trust : 0;
    item.cpu = cpu;
    item.ram = ram;
    item.trust = trust;
    item.active = active;
  }

  /** Whether `item`, with its new values, still sorts between the neighbours of its index `at`. */
  private inPlace(block: Block, at: number, item: Item): boolean {
    // What orders it did not change (a trust change that does not order, a change of activity).
    const o = at * FIELDS;
    if (item.key === block.nums[o + KEY] && item.orderTrust === block.nums[o + TRUST]) return true;
    const blocks = this.blocks;
    // At a block's edge the neighbour is in the next block: only the set's own ends are safe.
    if (at === 0 ? blocks[0] !== block : !comesBefore(block, at - 1, item)) return false;
    if (at === block.n - 1) return blocks[blocks.length - 1] === block;
    return !comesBefore(block, at + 1, item);
  }

  /** Writes an item's new values at its index; it held `cpu`, `ram` and `live` before. */
  private rewrite(block: Block, at: number, item: Item, cpu: number, ram: number, live: number): void {
    if (live !== NONE) this.active -= 1;
    if (item.active) this.active += 1;
    setAt(block, at, item);
    if (at === block.n - 1) this.syncLast(block);
    if (this.maxima !== null) include(this.maxima, item);
    this.lowered(block, cpu, ram, live);
  }

  /** Takes out the entry at `at` of `block`, which held `cpu`, `ram` and `live`. */
  private detach(block: Block, at: number, cpu: number, ram: number, live: number): void {
    removeAt(block, at);
    if (live !== NONE) this.active -= 1;
    this.lowered(block, cpu, ram, live);
    if (block.n === 0) {
      this.blocks.splice(block.index, 1);
      this.reindex(block.index);
    }
    // Many nearly empty blocks would make walks long: join a small block to a neighbour.
    else if (block.n < this.blockSize / 4) this.joinSmall(block);
    else if (at === block.n) this.syncLast(block);
  }

  /**
   * Keeps the maxima right after an entry holding `cpu`, `ram` and `live` (its trust, NONE when
   * inactive) left `block` or took lower values. Values at the floor (0 free) hold no maximum;
   * many entries may share the highest trust.
   */
  private lowered(block: Block, cpu: number, ram: number, live: number): void {
    const heldBlockMax = block.n === 0 || (cpu > 0 && cpu === block.maxCpu) || (ram > 0 && ram === block.maxRam) || (live !== NONE && live === block.maxLive);
    if (!heldBlockMax) return;
    const maxima = this.maxima;
    if (maxima !== null && ((cpu > 0 && cpu === maxima.cpu) || (ram > 0 && ram === maxima.ram) || (live !== NONE && live === maxima.live))) {
      // It held a maximum of the whole set: does another entry of its block hold it too?
      recount(block);
      if (block.maxCpu < cpu || block.maxRam < ram || block.maxLive < live) this.maxima = null;
    } else {
      // Stale block maxima are upper bounds: walks stay exact, and recount the block when they reach it.
      block.stale = true;
    }
  }

  private split(index: number): void {
    const block = this.blocks[index] as Block;
    const half = block.n >> 1;
    const next = newBlock(block.items.length);
    for (let i = half; i < block.n; i++) {
      insertAt(next, next.n, block.items[i] as Item);
      block.items[i] = null;
    }
    block.n = half;
    recount(block);
    this.blocks.splice(index + 1, 0, next);
    this.reindex(index);
  }

  private joinSmall(block: Block): void {
    const blocks = this.blocks;
    const index = block.index;
    const neighbour = index + 1 < blocks.length ? index + 1 : index - 1;
    if (neighbour < 0) {
      this.syncLast(block);
      return;
    }
    const [left, right] = neighbour > index ? [block, blocks[neighbour] as Block] : [blocks[neighbour] as Block, block];
    if (left.n + right.n > this.blockSize) {
      this.syncLast(block);
      return;
    }
    for (let i = 0; i < right.n; i++) insertAt(left, left.n, right.items[i] as Item);
    recount(left);
    blocks.splice(right.index, 1);
    this.reindex(left.index);
  }

  /** The last entry of a block changed: its directory row follows. */
  private syncLast(block: Block): void {
    const i = (block.n - 1) * FIELDS;
    const d = 3 * block.index;
    const directory = this.directory;
    directory[d] = block.lastKey = block.nums[i + KEY] as number;
    directory[d + 1] = block.lastTrust = block.nums[i + TRUST] as number;
    directory[d + 2] = block.lastRank = block.nums[i + RANK] as number;
  }

  /** Blocks from `from` on moved (a split, a join, an empty block gone): renumber them and their directory rows. */
  private reindex(from: number): void {
    const blocks = this.blocks;
    if (3 * blocks.length > this.directory.length) {
      const grown = new Float64Array(2 * this.directory.length);
      grown.set(this.directory);
      this.directory = grown;
    }
    for (let b = from; b < blocks.length; b++) {
      const block = blocks[b] as Block;
      block.index = b;
      this.syncLast(block);
    }
  }

  private currentMaxima(): Maxima {
    if (this.maxima === null) {
      const maxima: Maxima = { cpu: 0, ram: 0, live: NONE };
      for (const block of this.blocks) {
        if (block.stale) recount(block);
        if (block.maxCpu > maxima.cpu) maxima.cpu = block.maxCpu;
        if (block.maxRam > maxima.ram) maxima.ram = block.maxRam;
        if (block.maxLive > maxima.live) maxima.live = block.maxLive;
      }
      this.maxima = maxima;
    }
    return this.maxima;
  }
}

function newBlock(capacity: number): Block {
  return {
    n: 0,
    index: 0,
    items: new Array<Item | null>(capacity).fill(null),
    nums: new Float64Array(capacity * FIELDS),
    lastKey: 0,
    lastTrust: 0,
    lastRank: 0,
    maxCpu: 0,
    maxRam: 0,
    maxLive: NONE,
    stale: false,
  };
}

/** Puts `item` at index `at`, shifting the entries from there on; raises the block's maxima. */
function insertAt(block: Block, at: number, item: Item): void {
  const { items, nums } = block;
  const n = block.n;
  if (at < n) nums.copyWithin((at + 1) * FIELDS, at * FIELDS, n * FIELDS);
  for (let i = n; i > at; i--) items[i] = items[i - 1] as Item;
  block.n = n + 1;
  items[at] = item;
  nums[at * FIELDS + RANK] = item.rank;
  item.block = block;
  setAt(block, at, item);
}

/** Writes the numbers of the item at `at`, raising the block's maxima to them. */
function setAt(block: Block, at: number, item: Item): void {
  const live = liveOf(item);
  const nums = block.nums;
  const o = at * FIELDS;
  nums[o + KEY] = item.key;
  nums[o + TRUST] = item.orderTrust;
  nums[o + CPU] = item.cpu;
  nums[o + RAM] = item.ram;
  nums[o + LIVE] = live;
  if (item.cpu > block.maxCpu) block.maxCpu = item.cpu;
  if (item.ram > block.maxRam) block.maxRam = item.ram;
  if (live > block.maxLive) block.maxLive = live;
}

/** Takes out the entry at index `at`; the block's maxima stay (upper bounds) until recounted. */
function removeAt(block: Block, at: number): void {
  const { items, nums } = block;
  const last = block.n - 1;
  (items[at] as Item).block = null;
  if (at < last) nums.copyWithin(at * FIELDS, (at + 1) * FIELDS, (last + 1) * FIELDS);
  for (let i = at; i < last; i++) items[i] = items[i + 1] as Item;
  items[last] = null;
  block.n = last;
}

/** True when the entry at `i` of `block` comes before `item`: key ascending, (order) trust descending, id. */
function comesBefore(block: Block, i: number, item: Item): boolean {
  const o = i * FIELDS;
  const nums = block.nums;
  return precedes(nums[o + KEY] as number, nums[o + TRUST] as number, nums[o + RANK] as number, block, i, item);
}

/**
 * The order of comesBefore, for an entry whose numbers the caller already read: entry `i` of
 * `block` (-1: its last), whose id only a tie on all three numbers reads.
 */
function precedes(key: number, trust: number, rank: number, block: Block, i: number, item: Item): boolean {
  if (key !== item.key) return key < item.key;
  if (trust !== item.orderTrust) return trust > item.orderTrust;
  if (rank !== item.rank) return rank < item.rank;
  return (block.items[i < 0 ? block.n - 1 : i] as Item).id < item.id;
}

/**
 * The id's first seven UTF-16 units, 7 bits each, as one exact number (49 bits; missing units
 * count as 0): ids in order have ranks in order, so ties on key and trust are broken without
 * reading the strings. Agent ids are hex digests of keys: seven hex digits tell 10,000 agents
 * apart (three did not: 4,096 prefixes made a string comparison, and its cache misses, common).
 * A unit of 127 or more counts as 127 and ends the rank (the rest count as 0), so two ids that
 * differ only from there on tie and are compared as strings: the order stays exact.
 */
function idRank(id: string): number {
  let rank = 0;
  let i = 0;
  for (; i < RANK_UNITS; i++) {
    const unit = i < id.length ? id.charCodeAt(i) : 0;
    rank = rank * 128 + (unit < 127 ? unit : 127);
    if (unit >= 127) break;
  }
  for (i++; i < RANK_UNITS; i++) rank *= 128;
  return rank;
}

const RANK_UNITS = 7;

/** The first index of `block` whose key is >= `key`. */
function lowerBound(block: Block, key: number): number {
  const nums = block.nums;
  let lo = 0;
  let hi = block.n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((nums[mid * FIELDS + KEY] as number) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The trust trust queries compare: NONE for an inactive entry. */
function liveOf(item: Item): number {
  return item.active ? item.trust : NONE;
}

function include(maxima: Maxima, item: Item): void {
  if (item.cpu > maxima.cpu) maxima.cpu = item.cpu;
  if (item.ram > maxima.ram) maxima.ram = item.ram;
  const live = liveOf(item);
  if (live > maxima.live) maxima.live = live;
}

function recount(block: Block): void {
  const nums = block.nums;
  let cpu = 0;
  let ram = 0;
  let trust = NONE;
  for (let o = 0, end = block.n * FIELDS; o < end; o += FIELDS) {
    if ((nums[o + CPU] as number) > cpu) cpu = nums[o + CPU] as number;
    if ((nums[o + RAM] as number) > ram) ram = nums[o + RAM] as number;
    if ((nums[o + LIVE] as number) > trust) trust = nums[o + LIVE] as number;
  }
  block.maxCpu = cpu;
  block.maxRam = ram;
  block.maxLive = trust;
  block.stale = false;
}
