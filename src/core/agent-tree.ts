/**
 * An ordered set of agents with subtree aggregates (a treap), for the capacity index.
 *
 * Entries are ordered by `key` ascending (a size: cpu + ramGb / 2 of free or total capacity),
 * then trust descending, then id, so an in-order walk from a lower bound meets the best-fitting
 * agents first, trust breaking ties. Every node knows the largest cpu, ram and active trust
 * below it, so a walk skips whole subtrees that cannot hold a match: looking for 4 free cores
 * when every agent is busy costs O(1), not a scan.
 *
 * Balance comes from a priority per node that is a hash of the agent id: deterministic (the
 * core never draws random numbers) and uniform for ids derived from public keys.
 */

export interface TreeEntry {
  readonly id: string;
  readonly key: number;
  readonly cpu: number;
  readonly ram: number;
  readonly trust: number;
  readonly active: boolean;
}

/** What a walk looks for. `trust` set means: active agents with at least this trust only. */
export interface TreeQuery {
  readonly cpu: number;
  readonly ram: number;
  readonly minKey: number;
  readonly trust?: number;
}

interface Node {
  entry: TreeEntry;
  readonly prio: number;
  left: Node | null;
  right: Node | null;
  size: number;
  activeCount: number;
  maxCpu: number;
  maxRam: number;
  /** -Infinity when no entry below is active. */
  maxActiveTrust: number;
}

export class AgentTree {
  private root: Node | null = null;
  private readonly byId = new Map<string, Node>();

  get size(): number {
    return this.root?.size ?? 0;
  }

  get activeCount(): number {
    return this.root?.activeCount ?? 0;
  }

  /** Largest cpu of any entry (0 when empty). */
  get maxCpu(): number {
    return this.root?.maxCpu ?? 0;
  }

  get maxRam(): number {
    return this.root?.maxRam ?? 0;
  }

  /** Highest trust of an active entry, -Infinity when none. */
  get maxActiveTrust(): number {
    return this.root?.maxActiveTrust ?? Number.NEGATIVE_INFINITY;
  }

  get(id: string): TreeEntry | undefined {
    return this.byId.get(id)?.entry;
  }

  /** Inserts or replaces the entry with this id. */
  upsert(entry: TreeEntry): void {
    this.delete(entry.id);
    const node: Node = { entry, prio: hashId(entry.id), left: null, right: null, size: 1, activeCount: 0, maxCpu: 0, maxRam: 0, maxActiveTrust: 0 };
    pull(node);
    const [less, rest] = split(this.root, entry);
    this.root = merge(merge(less, node), rest);
    this.byId.set(entry.id, node);
  }

  delete(id: string): boolean {
    const node = this.byId.get(id);
    if (node === undefined) return false;
    const [less, rest] = split(this.root, node.entry);
    this.root = merge(less, removeLeftmost(rest));
    this.byId.delete(id);
    return true;
  }

  /** The first `k` matching entries in order, skipping ids in `exclude`. */
  first(query: TreeQuery, k: number, exclude?: ReadonlySet<string>): TreeEntry[] {
    const out: TreeEntry[] = [];
    if (k <= 0) return out;
    walk(this.root, query, (entry) => {
      if (exclude?.has(entry.id) === true) return false;
      out.push(entry);
      return out.length >= k;
    });
    return out;
  }

  /** How many entries match, counting no further than `limit`. */
  count(query: TreeQuery, limit = Number.POSITIVE_INFINITY, exclude?: ReadonlySet<string>): number {
    let n = 0;
    if (limit <= 0) return 0;
    walk(this.root, query, (entry) => {
      if (exclude?.has(entry.id) === true) return false;
      n += 1;
      return n >= limit;
    });
    return n;
  }
}

function compare(a: TreeEntry, b: TreeEntry): number {
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  if (a.trust !== b.trust) return a.trust > b.trust ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function pull(node: Node): void {
  const { entry, left, right } = node;
  node.size = 1 + (left?.size ?? 0) + (right?.size ?? 0);
  node.activeCount = (entry.active ? 1 : 0) + (left?.activeCount ?? 0) + (right?.activeCount ?? 0);
  node.maxCpu = Math.max(entry.cpu, left?.maxCpu ?? 0, right?.maxCpu ?? 0);
  node.maxRam = Math.max(entry.ram, left?.maxRam ?? 0, right?.maxRam ?? 0);
  node.maxActiveTrust = Math.max(
    entry.active ? entry.trust : Number.NEGATIVE_INFINITY,
    left?.maxActiveTrust ?? Number.NEGATIVE_INFINITY,
    right?.maxActiveTrust ?? Number.NEGATIVE_INFINITY,
  );
}

/** [entries before `pivot`, entries from `pivot` on]. */
function split(node: Node | null, pivot: TreeEntry): [Node | null, Node | null] {
  if (node === null) return [null, null];
  if (compare(node.entry, pivot) < 0) {
    const [less, rest] = split(node.right, pivot);
    node.right = less;
    pull(node);
    return [node, rest];
  }
  const [less, rest] = split(node.left, pivot);
  node.left = rest;
  pull(node);
  return [less, node];
}

/** Joins two treaps where every entry of `a` comes before every entry of `b`. */
function merge(a: Node | null, b: Node | null): Node | null {
  if (a === null) return b;
  if (b === null) return a;
  if (a.prio > b.prio) {
    a.right = merge(a.right, b);
    pull(a);
    return a;
  }
  b.left = merge(a, b.left);
  pull(b);
  return b;
}

function removeLeftmost(node: Node | null): Node | null {
  if (node === null) return null;
  if (node.left === null) return node.right;
  node.left = removeLeftmost(node.left);
  pull(node);
  return node;
}

/** In-order walk of the matches; `visit` returns true to stop. Returns true when stopped. */
function walk(node: Node | null, q: TreeQuery, visit: (entry: TreeEntry) => boolean): boolean {
  if (node === null || node.maxCpu < q.cpu || node.maxRam < q.ram) return false;
  if (q.trust !== undefined && node.maxActiveTrust < q.trust) return false;
  const entry = node.entry;
  if (entry.key >= q.minKey) {
    if (walk(node.left, q, visit)) return true;
    const matches = entry.cpu >= q.cpu && entry.ram >= q.ram && (q.trust === undefined || (entry.active && entry.trust >= q.trust));
    if (matches && visit(entry)) return true;
  }
  return walk(node.right, q, visit);
}

/** FNV-1a over the id's UTF-16 units, then a murmur3 finalizer for avalanche. */
function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
