/**
 * Binary heaps for the scheduler's indexes. `before(a, b)` is true when `a` must come out first.
 *
 * IndexedHeap hands out a node per value so that any value can be removed in O(log n), not only
 * the top. `bestFirst` walks several heaps at once in the global order WITHOUT popping them: it
 * expands a frontier from the roots, which costs O(r + m log(r + m)) for the first m values of r
 * heaps, however large the heaps are.
 */

export interface HeapNode<T> {
  readonly value: T;
  /** Position in the heap's array; -1 once removed. */
  index: number;
}

export class IndexedHeap<T> {
  private readonly nodes: HeapNode<T>[] = [];
  private readonly before: (a: T, b: T) => boolean;

  constructor(before: (a: T, b: T) => boolean) {
    this.before = before;
  }

  get size(): number {
    return this.nodes.length;
  }

  /** The value at array position `index` (0 is the top; children of i are 2i+1 and 2i+2). */
  at(index: number): T | undefined {
    return this.nodes[index]?.value;
  }

  push(value: T): HeapNode<T> {
    const node: HeapNode<T> = { value, index: this.nodes.length };
    this.nodes.push(node);
    this.up(node.index);
    return node;
  }

  /** Removes a node this heap handed out; a node already removed is ignored. */
  remove(node: HeapNode<T>): void {
    const index = node.index;
    if (index < 0 || this.nodes[index] !== node) return;
    const last = this.nodes.pop() as HeapNode<T>;
    node.index = -1;
    if (last === node) return;
    this.nodes[index] = last;
    last.index = index;
    this.up(index);
    this.down(last.index);
  }

  private up(start: number): void {
    let i = start;
    const node = this.nodes[i] as HeapNode<T>;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = this.nodes[parentIndex] as HeapNode<T>;
      if (!this.before(node.value, parent.value)) break;
      this.nodes[i] = parent;
      parent.index = i;
      i = parentIndex;
    }
    this.nodes[i] = node;
    node.index = i;
  }

  private down(start: number): void {
    let i = start;
    const n = this.nodes.length;
    const node = this.nodes[i] as HeapNode<T>;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && this.before((this.nodes[right] as HeapNode<T>).value, (this.nodes[left] as HeapNode<T>).value)) child = right;
      const childNode = this.nodes[child] as HeapNode<T>;
      if (!this.before(childNode.value, node.value)) break;
      this.nodes[i] = childNode;
      childNode.index = i;
      i = child;
    }
    this.nodes[i] = node;
    node.index = i;
  }
}

/** A plain binary heap (push/pop), for frontiers. */
export class BinaryHeap<T> {
  private readonly items: T[] = [];
  private readonly before: (a: T, b: T) => boolean;

  constructor(before: (a: T, b: T) => boolean) {
    this.before = before;
  }

  get size(): number {
    return this.items.length;
  }

  /** Builds the heap from `values` in O(n) (Floyd), replacing what it held. */
  static from<T>(values: T[], before: (a: T, b: T) => boolean): BinaryHeap<T> {
    const heap = new BinaryHeap<T>(before);
    heap.items.push(...values);
    for (let i = (values.length >> 1) - 1; i >= 0; i--) heap.siftDown(i);
    return heap;
  }

  push(value: T): void {
    const items = this.items;
    let i = items.length;
    items.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(value, items[parent] as T)) break;
      items[i] = items[parent] as T;
      i = parent;
    }
    items[i] = value;
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    this.siftDown(0);
    return top;
  }

  private siftDown(start: number): void {
    const items = this.items;
    const n = items.length;
    const value = items[start] as T;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      let child = left;
      if (left + 1 < n && this.before(items[left + 1] as T, items[left] as T)) child = left + 1;
      if (!this.before(items[child] as T, value)) break;
      items[i] = items[child] as T;
      i = child;
    }
    items[i] = value;
  }
}

interface Cursor<T> {
  heap: IndexedHeap<T>;
  index: number;
  value: T;
  score: number;
}

/**
 * Yields the values of all `heaps` in descending `score`, ties by `tieBefore`, provided each
 * heap's own order agrees with that order (a parent never scores below its child). The heaps
 * must not change while the generator runs.
 */
export function* bestFirst<T>(heaps: Iterable<IndexedHeap<T>>, score: (value: T) => number, tieBefore: (a: T, b: T) => boolean): Generator<T> {
  const roots: Cursor<T>[] = [];
  for (const heap of heaps) {
    const value = heap.at(0);
    if (value !== undefined) roots.push({ heap, index: 0, value, score: score(value) });
  }
  const frontier = BinaryHeap.from(roots, (a, b) => a.score > b.score || (a.score === b.score && tieBefore(a.value, b.value)));
  const visit = (heap: IndexedHeap<T>, index: number): void => {
    const value = heap.at(index);
    if (value !== undefined) frontier.push({ heap, index, value, score: score(value) });
  };
  for (let cursor = frontier.pop(); cursor !== undefined; cursor = frontier.pop()) {
    yield cursor.value;
    visit(cursor.heap, 2 * cursor.index + 1);
    visit(cursor.heap, 2 * cursor.index + 2);
  }
}
