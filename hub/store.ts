import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AbstractSublevel } from 'abstract-level';
import { Level } from 'level';
import type { Envelope } from '../protocol/messages.ts';
import type { Agent, Assignment, Task } from '../src/core/model.ts';
import type { RegistryAuth } from './engine-types.ts';
import type { OutboxItem } from './federated/entries.ts';
import { StoreSchemaError } from './errors.ts';

/**
 * The hub's durable state in LevelDB (`<dataDir>/db`), JSON values in one sublevel per kind.
 *
 * Every state transition is ONE `commit()`, i.e. one atomic LevelDB batch: a task, its
 * assignments and the agents whose reservations or trust they change are written together or not
 * at all, so a `kill -9` between any two instructions leaves either the old state or the new one.
 * Writes are not fsync'ed: a killed process loses nothing LevelDB has handed to the kernel; only a
 * power loss could drop the last few batches.
 *
 * Commits are applied strictly in call order (one chain): the engine mutates its memory first and
 * commits after, and two batches writing the same key must reach the disk in that same order.
 *
 * Bulky write-once values live apart from the records the engine keeps in memory: the submitter's
 * signed spec (`specs`, for the federation to relay) and each agent's signed result (`results`,
 * shipped with decisions so any hub can recheck them; an assignment record is written without
 * its `result`, which only `Changes.results` stores). Registry credentials (`credentials`) are
 * kept apart from tasks so that no code path that serialises a task can ever carry them.
 */

const SCHEMA_VERSION = 1;

export interface StoredState {
  tasks: Task[];
  agents: Agent[];
  assignments: Assignment[];
  credentials: Map<string, RegistryAuth>;
  /** Federation log entries committed but not signed into the log yet, in key order. */
  outbox: Array<{ key: string; item: OutboxItem }>;
}

/** One state transition. Everything in it is written in a single atomic batch. */
export interface Changes {
  tasks?: readonly Task[];
  agents?: readonly Agent[];
  assignments?: readonly Assignment[];
  specs?: ReadonlyArray<{ taskId: string; envelope: Envelope }>;
  results?: ReadonlyArray<{ assignmentId: string; envelope: Envelope }>;
  credentials?: ReadonlyArray<{ taskId: string; auth: RegistryAuth }>;
  /** Task ids whose credentials are no longer needed (the task reached a final state). */
  forgetCredentials?: readonly string[];
  /** What the federation log must learn from this transition (docs/FEDERATION.md): kept until it is signed in. */
  outbox?: ReadonlyArray<{ key: string; item: OutboxItem }>;
  /** Outbox keys now signed into the log. */
  outboxDone?: readonly string[];
}

type JsonSublevel = AbstractSublevel<Level<string, string>, string | Buffer | Uint8Array, string, unknown>;

export class HubStore {
  private readonly db: Level<string, string>;
  private readonly tasks: JsonSublevel;
  private readonly agents: JsonSublevel;
  private readonly assignments: JsonSublevel;
  private readonly specs: JsonSublevel;
  private readonly results: JsonSublevel;
  private readonly credentials: JsonSublevel;
  private readonly meta: JsonSublevel;
  private readonly outbox: JsonSublevel;
  private tail: Promise<void> = Promise.resolve();

  private constructor(location: string) {
    this.db = new Level<string, string>(location);
    const json = { valueEncoding: 'json' } as const;
    this.tasks = this.db.sublevel<string, unknown>('tasks', json);
    this.agents = this.db.sublevel<string, unknown>('agents', json);
    this.assignments = this.db.sublevel<string, unknown>('assignments', json);
    this.specs = this.db.sublevel<string, unknown>('specs', json);
    this.results = this.db.sublevel<string, unknown>('results', json);
    this.credentials = this.db.sublevel<string, unknown>('credentials', json);
    this.meta = this.db.sublevel<string, unknown>('meta', json);
    this.outbox = this.db.sublevel<string, unknown>('outbox', json);
  }

  /** Opens (creating) `<dataDir>/db`; the data dir is private to the hub (mode 0700). */
  static async open(dataDir: string): Promise<HubStore> {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const store = new HubStore(join(dataDir, 'db'));
    await store.db.open();
    const schema = await store.meta.get('schema');
    if (schema === undefined) await store.meta.put('schema', SCHEMA_VERSION);
    else if (schema !== SCHEMA_VERSION) {
      await store.db.close();
      throw new StoreSchemaError(schema, SCHEMA_VERSION);
    }
    return store;
  }

  /** Everything the engine keeps in memory (not the signed specs and results: see getResult). */
  async load(): Promise<StoredState> {
    const [tasks, agents, assignments] = await Promise.all([
      this.tasks.values().all() as Promise<Task[]>,
      this.agents.values().all() as Promise<Agent[]>,
      this.assignments.values().all() as Promise<Assignment[]>,
    ]);
    const credentials = new Map(
      (await this.credentials.iterator().all()) as Array<[string, RegistryAuth]>,
    );
    const outbox = ((await this.outbox.iterator().all()) as Array<[string, OutboxItem]>).map(([key, item]) => ({ key, item }));
    return { tasks, agents, assignments, credentials, outbox };
  }

  commit(changes: Changes): Promise<void> {
    const batch = this.db.batch();
    for (const task of changes.tasks ?? []) batch.put(task.id, task, { sublevel: this.tasks });
    for (const agent of changes.agents ?? []) batch.put(agent.id, agent, { sublevel: this.agents });
    for (const { result: _kept, ...assignment } of changes.assignments ?? []) batch.put(assignment.id, assignment, { sublevel: this.assignments });
    for (const { taskId, envelope } of changes.specs ?? []) batch.put(taskId, envelope, { sublevel: this.specs });
    for (const { assignmentId, envelope } of changes.results ?? []) batch.put(assignmentId, envelope, { sublevel: this.results });
    for (const { taskId, auth } of changes.credentials ?? []) batch.put(taskId, auth, { sublevel: this.credentials });
    for (const taskId of changes.forgetCredentials ?? []) batch.del(taskId, { sublevel: this.credentials });
    for (const { key, item } of changes.outbox ?? []) batch.put(key, item, { sublevel: this.outbox });
    for (const key of changes.outboxDone ?? []) batch.del(key, { sublevel: this.outbox });
    const write = this.tail.then(() => batch.write());
    // The chain must survive a failed write (the caller sees the failure through `write`).
    this.tail = write.catch(() => undefined);
    return write;
  }

  async getSpec(taskId: string): Promise<Envelope | undefined> {
    return (await this.specs.get(taskId)) as Envelope | undefined;
  }

  async getResult(assignmentId: string): Promise<Envelope | undefined> {
    return (await this.results.get(assignmentId)) as Envelope | undefined;
  }

  /** Waits for the commits under way, then closes the database. */
  async close(): Promise<void> {
    await this.tail;
    await this.db.close();
  }
}
