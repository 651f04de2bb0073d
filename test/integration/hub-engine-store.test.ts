import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreSchemaError } from '../../hub/errors.ts';
import { HubStore } from '../../hub/store.ts';
import type { Assignment, Task } from '../../src/core/model.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcloud-hub-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const task = (staleness: number): Task => ({
  id: 'a'.repeat(64),
  submitter: 's'.repeat(32),
  spec: { image: 'x', command: ['true'], cpu: 1, ramGb: 1, minTrust: 1, overlap: 1, timeoutS: 1 },
  status: 'pending',
  submittedAt: 1,
  transitions: [{ status: 'pending', at: 1 }],
  staleness,
  round: 0,
  assignments: [],
  home: 'h'.repeat(32),
});

describe('the hub store (real LevelDB)', () => {
  it('writes commits in the order they were made, even when nobody waits between them', async () => {
    const store = await HubStore.open(join(dir, 'hub'));
    const writes: Promise<void>[] = [];
    for (let i = 1; i <= 200; i++) writes.push(store.commit({ tasks: [task(i)] }));
    await Promise.all(writes);
    await store.close();
    const again = await HubStore.open(join(dir, 'hub'));
    const { tasks } = await again.load();
    await again.close();
    expect(tasks.map((t) => t.staleness)).toEqual([200]);
  });

  it('keeps signed results and credentials apart from the records the engine loads', async () => {
    const store = await HubStore.open(join(dir, 'hub'));
    const envelope = { payload: '{"x":1}', sig: '0'.repeat(128) };
    const assignment: Assignment = { id: 'b'.repeat(64), taskId: 'a'.repeat(64), agentId: 'g'.repeat(32), round: 1, status: 'reported', issuedAt: 1, deadline: 2, reserved: { cpu: 1, ramGb: 1 }, digest: 'd'.repeat(64), result: envelope };
    await store.commit({ tasks: [task(0)], assignments: [assignment], results: [{ assignmentId: assignment.id, envelope }], credentials: [{ taskId: 'a'.repeat(64), auth: { username: 'u', password: 'p' } }] });
    const loaded = await store.load();
    const { result: _kept, ...record } = assignment;
    expect(loaded.assignments).toEqual([record]);
    expect(loaded.credentials.get('a'.repeat(64))).toEqual({ username: 'u', password: 'p' });
    expect(JSON.stringify(loaded.tasks)).not.toContain('"p"');
    expect(await store.getResult(assignment.id)).toEqual(envelope);
    await store.commit({ forgetCredentials: ['a'.repeat(64)] });
    expect((await store.load()).credentials.size).toBe(0);
    await store.close();
    // The data dir is the hub's alone.
    expect((await stat(join(dir, 'hub'))).mode & 0o777).toBe(0o700);
  });

  it('refuses a store written in another schema', async () => {
    const db = new Level<string, unknown>(join(dir, 'hub', 'db'), { valueEncoding: 'json' });
    await db.sublevel<string, unknown>('meta', { valueEncoding: 'json' }).put('schema', 99);
    await db.close();
    await expect(HubStore.open(join(dir, 'hub'))).rejects.toThrow(StoreSchemaError);
  });
});
