import { bestFirst, type HeapNode, IndexedHeap } from './heap.ts';
import type { Task } from './model.ts';
import type { CoreParams, SchedulingPolicy } from './params.ts';
import { statusWeight, taskWeight } from './priority.ts';
import { replicasWanted } from './replication.ts';

/** What decides whether a task could ever run on the agents registered: its size and its replicas. */
export interface TaskShape {
  readonly cpu: number;
  readonly ramGb: number;
  /** replicasWanted(task): the agents it needs at once. */
  readonly replicas: number;
}

export function taskShape(task: Task): TaskShape {
  return { cpu: task.spec.cpu, ramGb: task.spec.ramGb, replicas: replicasWanted(task) };
}

/**
 * The tasks waiting for agents, ordered for both policies, so that the best K cost nearly the
 * same at 100,000 tasks as at 10,000.
 *
 * Why it works: P = (A / R - S * Ps) * W = (W / R) * ((now - v) / 1000) with the "virtual
 * submission time" v = submittedAt + 1000 * S * Ps * R. Tasks of one class (equal R and W) thus
 * keep the same relative order at every `now`: by v, ascending. Each class is a heap by v; the
 * classes' heads are merged best-first by their priority at `now`. Reading the top K costs
 * O(C + K log(C + K)) for C classes (distinct R, W pairs), independent of the backlog's size;
 * add/remove/update cost O(log n). FIFO is one more heap, by submittedAt, built on first use.
 *
 * Equal priorities come out oldest first, then in the order tasks were first added.
 *
 * A task can be parked: it stays held (has, get, size, update, remove) but leaves the scheduling
 * order until `unpark` lets it back. The scheduler parks tasks no registered agent could ever run
 * (selectActiveQueue), so that they do not hold places in the active queue for good. Parked tasks
 * are grouped by TaskShape: one check lets a whole group back.
 */
export class Backlog {
  private readonly params: CoreParams;
  private readonly entries = new Map<string, Entry>();
  private readonly classes = new Map<string, TaskClass>();
  /** Built on the first FIFO read, then kept up: a heuristic-only hub never pays for it. */
  private fifo: IndexedHeap<Entry> | null = null;
  /** Parked tasks by shape key. */
  private readonly parked = new Map<string, ParkedGroup>();
  private parkedTasks = 0;
  private nextSeq = 0;

  constructor(params: CoreParams) {
    this.params = params;
  }

  /** Number of tasks held. */
  get size(): number {
    return this.entries.size;
  }

  has(taskId: string): boolean {
    return this.entries.has(taskId);
  }

  get(taskId: string): Task | undefined {
    return this.entries.get(taskId)?.task;
  }

  /** Number of parked tasks (counted in `size` too). */
  get parkedCount(): number {
    return this.parkedTasks;
  }

  isParked(taskId: string): boolean {
    return (this.entries.get(taskId)?.parkedIn ?? null) !== null;
  }

  /** Adds a task, or re-files it if it is already held (same as update). */
  add(task: Task): void {
    if (!this.update(task)) this.insert(task, this.nextSeq++);
  }

  /**
   * Re-files a held task after its staleness, status (the in-progress boost) or request changed.
   * Returns false, and does nothing, when the task is not held.
   */
  update(task: Task): boolean {
    const entry = this.entries.get(task.id);
    if (entry === undefined) return false;
    const group = entry.parkedIn;
    if (group !== null) {
      entry.task = task;
      // A parked task whose shape changed (more replicas) is judged again at the next pass.
      if (group.key !== shapeKey(task)) {
        this.detach(entry);
        this.attach(entry);
      }
      return true;
    }
    const weight = taskWeight(task);
    const boost = statusWeight(task, this.params);
    if (entry.cls.weight === weight && entry.cls.boost === boost && entry.task.submittedAt === task.submittedAt && entry.task.staleness === task.staleness) {
      entry.task = task;
      return true;
    }
    this.detach(entry);
    entry.task = task;
    this.attach(entry);
    return true;
  }

  /** Removes a task; false when it was not held. */
  remove(taskId: string): boolean {
    const entry = this.entries.get(taskId);
    if (entry === undefined) return false;
    this.detach(entry);
    this.entries.delete(taskId);
    return true;
  }

  /** Takes a held task out of the scheduling order until unparked. False when not held or parked already. */
  park(taskId: string): boolean {
    const entry = this.entries.get(taskId);
    if (entry === undefined || entry.parkedIn !== null) return false;
    this.detach(entry);
    const key = shapeKey(entry.task);
    let group = this.parked.get(key);
    if (group === undefined) {
      group = { key, shape: taskShape(entry.task), entries: new Set() };
      this.parked.set(key, group);
    }
    group.entries.add(entry);
    entry.parkedIn = group;
    this.parkedTasks += 1;
    return true;
  }

  /**
   * Returns to the scheduling order every parked task whose shape `fits` accepts (asked once per
   * shape). Returns how many came back.
   */
  unpark(fits: (shape: TaskShape) => boolean): number {
    let back = 0;
    for (const [key, group] of this.parked) {
      if (!fits(group.shape)) continue;
      this.parked.delete(key);
      for (const entry of group.entries) {
        entry.parkedIn = null;
        this.attach(entry);
        back += 1;
      }
    }
    this.parkedTasks -= back;
    return back;
  }

  /** The best `k` tasks at `now`: highest priority first (heuristic), or oldest first (fifo). */
  top(k: number, now: number, policy: SchedulingPolicy = this.params.scheduling.policy): Task[] {
    const out: Task[] = [];
    if (k <= 0) return out;
    for (const task of this.ordered(now, policy)) {
      out.push(task);
      if (out.length >= k) break;
    }
    return out;
  }

  /**
   * All held tasks in scheduling order at `now`, lazily: stop early and the rest is never
   * computed. Do not modify the backlog while iterating.
   */
  *ordered(now: number, policy: SchedulingPolicy = this.params.scheduling.policy): Generator<Task> {
    if (policy === 'fifo') {
      for (const entry of bestFirst([this.fifoHeap()], (e) => -e.submittedAt, seqBefore)) yield entry.task;
      return;
    }
    const heaps = Array.from(this.classes.values(), (cls) => cls.heap);
    // W * (now - v) / (1000 * R) is P (see above), read from the entry and its class alone: at
    // 100k tasks every pointer followed to a task and its spec is a likely cache miss.
    const score = (e: Entry): number => (e.cls.boost * (now - e.virtual)) / (1000 * e.cls.weight);
    for (const entry of bestFirst(heaps, score, fifoBefore)) yield entry.task;
  }

  private fifoHeap(): IndexedHeap<Entry> {
    if (this.fifo === null) {
      const fifo = new IndexedHeap<Entry>(fifoBefore);
      for (const entry of this.entries.values()) if (entry.parkedIn === null) entry.fifoNode = fifo.push(entry);
      this.fifo = fifo;
    }
    return this.fifo;
  }

  private insert(task: Task, seq: number): void {
    const entry = { task, seq, parkedIn: null } as Entry;
    this.attach(entry);
    this.entries.set(task.id, entry);
  }

  /** Files an entry, from its task, in its class heap and the FIFO heap (when built). */
  private attach(entry: Entry): void {
    const task = entry.task;
    const weight = taskWeight(task);
    const boost = statusWeight(task, this.params);
    const key = `${weight}:${boost}`;
    let cls = this.classes.get(key);
    if (cls === undefined) {
      cls = { key, weight, boost, heap: new IndexedHeap<Entry>(virtualBefore) };
      this.classes.set(key, cls);
    }
    entry.submittedAt = task.submittedAt;
    entry.virtual = task.submittedAt + 1000 * task.staleness * this.params.scheduling.stalePenalty * weight;
    entry.cls = cls;
    entry.classNode = cls.heap.push(entry);
    entry.fifoNode = this.fifo?.push(entry) ?? null;
  }

  /** Takes an entry out of the heaps, or out of its parked group. */
  private detach(entry: Entry): void {
    const group = entry.parkedIn;
    if (group !== null) {
      group.entries.delete(entry);
      if (group.entries.size === 0) this.parked.delete(group.key);
      entry.parkedIn = null;
      this.parkedTasks -= 1;
      return;
    }
    entry.cls.heap.remove(entry.classNode);
    if (entry.cls.heap.size === 0) this.classes.delete(entry.cls.key);
    if (entry.fifoNode !== null) this.fifo?.remove(entry.fifoNode);
    entry.fifoNode = null;
  }
}

interface TaskClass {
  key: string;
  /** R of the class. */
  weight: number;
  /** W of the class. */
  boost: number;
  heap: IndexedHeap<Entry>;
}

interface Entry {
  task: Task;
  /** Order of first insertion: the last tie-breaker. */
  seq: number;
  /** task.submittedAt, kept here so heap comparisons read one object, not two. */
  submittedAt: number;
  /** submittedAt + 1000 * S * Ps * R: the in-class order. */
  virtual: number;
  cls: TaskClass;
  classNode: HeapNode<Entry>;
  fifoNode: HeapNode<Entry> | null;
  /** The group it is parked in; null while it is in the heaps. */
  parkedIn: ParkedGroup | null;
}

interface ParkedGroup {
  key: string;
  shape: TaskShape;
  entries: Set<Entry>;
}

function shapeKey(task: Task): string {
  return `${task.spec.cpu}:${task.spec.ramGb}:${replicasWanted(task)}`;
}

function seqBefore(a: Entry, b: Entry): boolean {
  return a.seq < b.seq;
}

function fifoBefore(a: Entry, b: Entry): boolean {
  return a.submittedAt < b.submittedAt || (a.submittedAt === b.submittedAt && a.seq < b.seq);
}

function virtualBefore(a: Entry, b: Entry): boolean {
  return a.virtual < b.virtual || (a.virtual === b.virtual && fifoBefore(a, b));
}
