import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { DcloudError } from '../protocol/errors.ts';
import { ContentId, Envelope, MessageBodies, NodeId, PublicKeyHex } from '../protocol/messages.ts';

/**
 * What an agent must not forget across a crash, in its data directory:
 *
 *   state.json                  its name and, per hub, the hub's pinned key and our standing there
 *   journal/<assignmentId>.json one file per assignment we accepted and have not yet had acknowledged
 *
 * An assignment's file is written ("running") BEFORE its container starts, replaced by the
 * finished result ("finished") before delivery, and deleted once the hub acknowledged it. So a
 * crash at any point leaves either nothing to do, a result to deliver, or an assignment that was
 * running when the agent died: that one is reported once as a failure, never run again.
 * Every write is write-to-temp, fsync, rename, fsync of the directory: a file is old or new, never torn.
 */

export const JournalErrorCodes = {
  STATE_CORRUPT: 'AGENT_STATE_CORRUPT',
} as const;

export class AgentStateCorruptError extends DcloudError {
  constructor(path: string, why: string) {
    super(JournalErrorCodes.STATE_CORRUPT, `agent state ${path} is corrupt (${why}); it holds the pinned hub keys, so the agent will not guess: fix or remove it`, 500);
    this.name = 'AgentStateCorruptError';
  }
}

const HubRecord = Type.Object(
  {
    hubId: NodeId,
    /** The hub's signing key, pinned at first contact: assignments must carry its signature. */
    publicKey: PublicKeyHex,
    pinnedAt: Type.Integer({ minimum: 0 }),
    registeredAt: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Our trust on that hub, as its last answer said. */
    trust: Type.Optional(Type.Number()),
  },
  { additionalProperties: false },
);
export type HubRecord = Static<typeof HubRecord>;

const AgentState = Type.Object(
  {
    version: Type.Literal(1),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    /** Keyed by the hub's normalised URL. */
    hubs: Type.Record(Type.String(), HubRecord),
  },
  { additionalProperties: false },
);
export type AgentState = Static<typeof AgentState>;

const ResultBody = MessageBodies.result;
export type ResultBody = Static<typeof ResultBody>;

const Common = {
  version: Type.Literal(1),
  hub: Type.String({ minLength: 1 }),
  assignmentId: ContentId,
  taskId: ContentId,
  startedAt: Type.Integer({ minimum: 0 }),
};
const RunningEntry = Type.Object({ ...Common, state: Type.Literal('running'), assignment: Envelope }, { additionalProperties: false });
const FinishedEntry = Type.Object(
  { ...Common, state: Type.Literal('finished'), finishedAt: Type.Integer({ minimum: 0 }), result: ResultBody },
  { additionalProperties: false },
);
const JournalEntry = Type.Union([RunningEntry, FinishedEntry]);
export type RunningEntry = Static<typeof RunningEntry>;
export type FinishedEntry = Static<typeof FinishedEntry>;
export type JournalEntry = Static<typeof JournalEntry>;

const stateCheck = TypeCompiler.Compile(AgentState);
const entryCheck = TypeCompiler.Compile(JournalEntry);
const ID_FILE = /^([0-9a-f]{64})\.json$/;

export interface Recovered {
  entries: JournalEntry[];
  /** Files that were not valid entries, moved aside to `<name>.corrupt` so a person can look. */
  corrupt: string[];
}

export interface Journal {
  loadState(): Promise<AgentState>;
  saveState(state: AgentState): Promise<void>;
  /** Every unacknowledged assignment, oldest first. */
  recover(): Promise<Recovered>;
  /** Records an accepted assignment before it runs. */
  begin(entry: Omit<RunningEntry, 'version' | 'state'>): Promise<void>;
  /** Replaces an assignment's record with its finished result. */
  finish(entry: Omit<FinishedEntry, 'version' | 'state'>): Promise<void>;
  /** The hub has the result (or will never take it): forget the assignment. */
  acknowledge(assignmentId: string): Promise<void>;
}

export async function openJournal(dataDir: string): Promise<Journal> {
  const entriesDir = join(dataDir, 'journal');
  const statePath = join(dataDir, 'state.json');
  await mkdir(entriesDir, { recursive: true, mode: 0o700 });

  const entryPath = (assignmentId: string) => {
    if (!/^[0-9a-f]{64}$/.test(assignmentId)) throw new TypeError(`not an assignment id: ${assignmentId}`);
    return join(entriesDir, `${assignmentId}.json`);
  };

  return {
    async loadState() {
      let text: string;
      try {
        text = await readFile(statePath, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, hubs: {} };
        throw err;
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new AgentStateCorruptError(statePath, 'not JSON');
      }
      if (!stateCheck.Check(json)) {
        const first = stateCheck.Errors(json).First();
        throw new AgentStateCorruptError(statePath, first ? `${first.path || '/'}: ${first.message}` : 'invalid');
      }
      return json;
    },
    async saveState(state) {
      await writeAtomic(statePath, `${JSON.stringify(state, null, 2)}\n`);
    },
    async recover() {
      const entries: JournalEntry[] = [];
      const corrupt: string[] = [];
      for (const name of (await readdir(entriesDir)).sort()) {
        const path = join(entriesDir, name);
        // Leftovers of a write the crash interrupted: the rename never happened, the old file stands.
        if (name.endsWith('.tmp')) {
          await unlink(path);
          continue;
        }
        const match = ID_FILE.exec(name);
        if (match === null) continue;
        let json: unknown;
        try {
          json = JSON.parse(await readFile(path, 'utf8'));
        } catch {
          json = undefined;
        }
        if (entryCheck.Check(json) && json.assignmentId === match[1]) {
          entries.push(json);
        } else {
          await rename(path, `${path}.corrupt`);
          corrupt.push(name);
        }
      }
      entries.sort((a, b) => a.startedAt - b.startedAt);
      return { entries, corrupt };
    },
    async begin(entry) {
      await writeAtomic(entryPath(entry.assignmentId), JSON.stringify({ version: 1, state: 'running', ...entry }));
    },
    async finish(entry) {
      await writeAtomic(entryPath(entry.assignmentId), JSON.stringify({ version: 1, state: 'finished', ...entry }));
    },
    async acknowledge(assignmentId) {
      try {
        await unlink(entryPath(assignmentId));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      await syncDir(entriesDir);
    },
  };
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  await syncDir(dirname(path));
}

/** Makes a rename or unlink itself durable: without it, a power cut may undo it. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
