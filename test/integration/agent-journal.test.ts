import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentStateCorruptError, JournalErrorCodes, openJournal } from '../../agent/journal.ts';
import { restartedReport } from '../../agent/report.ts';
import { expectRejection } from '../support/expect-error.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const T = 'c'.repeat(64);
const envelope = { payload: '{"x":1}', sig: '0'.repeat(128) };

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcloud-journal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the agent journal', () => {
  it('keeps an assignment from its start, through its result, until acknowledged', async () => {
    const journal = await openJournal(dir);
    await journal.begin({ hub: 'http://h', assignmentId: A, taskId: T, startedAt: 10, assignment: envelope });
    // A second process (the restarted agent) sees what the first wrote.
    expect((await (await openJournal(dir)).recover()).entries).toEqual([
      { version: 1, state: 'running', hub: 'http://h', assignmentId: A, taskId: T, startedAt: 10, assignment: envelope },
    ]);
    const result = restartedReport({ assignmentId: A, taskId: T }, 5);
    await journal.finish({ hub: 'http://h', assignmentId: A, taskId: T, startedAt: 10, finishedAt: 15, result });
    expect((await journal.recover()).entries).toEqual([
      { version: 1, state: 'finished', hub: 'http://h', assignmentId: A, taskId: T, startedAt: 10, finishedAt: 15, result },
    ]);
    await journal.acknowledge(A);
    expect((await journal.recover()).entries).toEqual([]);
    // Acknowledging twice is harmless (a retried delivery).
    await journal.acknowledge(A);
  });

  it('returns entries oldest first', async () => {
    const journal = await openJournal(dir);
    await journal.begin({ hub: 'http://h', assignmentId: A, taskId: T, startedAt: 20, assignment: envelope });
    await journal.begin({ hub: 'http://h', assignmentId: B, taskId: T, startedAt: 10, assignment: envelope });
    expect((await journal.recover()).entries.map((e) => e.assignmentId)).toEqual([B, A]);
  });

  it('moves an unreadable entry aside and drops leftovers of interrupted writes', async () => {
    const journal = await openJournal(dir);
    await journal.begin({ hub: 'http://h', assignmentId: A, taskId: T, startedAt: 1, assignment: envelope });
    await writeFile(join(dir, 'journal', `${B}.json`), '{"version":1,"state":"run');
    await writeFile(join(dir, 'journal', `${A}.json.0123.tmp`), 'half');
    const { entries, corrupt } = await journal.recover();
    expect(entries.map((e) => e.assignmentId)).toEqual([A]);
    expect(corrupt).toEqual([`${B}.json`]);
    expect((await readdir(join(dir, 'journal'))).sort()).toEqual([`${A}.json`, `${B}.json.corrupt`]);
  });

  it('refuses an entry whose content names another assignment than its file', async () => {
    const journal = await openJournal(dir);
    await journal.begin({ hub: 'http://h', assignmentId: A, taskId: T, startedAt: 1, assignment: envelope });
    await writeFile(join(dir, 'journal', `${B}.json`), await readFile(join(dir, 'journal', `${A}.json`)));
    expect((await journal.recover()).corrupt).toEqual([`${B}.json`]);
  });

  it('stores the agent state privately and reads it back', async () => {
    const journal = await openJournal(dir);
    expect(await journal.loadState()).toEqual({ version: 1, hubs: {} });
    const state = { version: 1 as const, name: 'n', hubs: { 'http://h': { hubId: 'd'.repeat(32), publicKey: 'e'.repeat(64), pinnedAt: 5 } } };
    await journal.saveState(state);
    expect(await (await openJournal(dir)).loadState()).toEqual(state);
    expect((await stat(join(dir, 'state.json'))).mode & 0o077).toBe(0);
  });

  it('refuses to guess when the state file is corrupt: it holds the pinned hub keys', async () => {
    const journal = await openJournal(dir);
    await writeFile(join(dir, 'state.json'), 'not json');
    await expectRejection(journal.loadState(), AgentStateCorruptError, JournalErrorCodes.STATE_CORRUPT);
    await writeFile(join(dir, 'state.json'), JSON.stringify({ version: 1, hubs: { 'http://h': { hubId: 'x' } } }));
    await expectRejection(journal.loadState(), AgentStateCorruptError, JournalErrorCodes.STATE_CORRUPT);
  });
});
