// The hub client's event stream and its typed errors, over real HTTP against servers that send
// exactly the bytes under test; and `dcloud submit --wait` when a hub has no event stream.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHubClient, HubBadResponseError, HubClientErrorCodes, type HubEvent, HubRejectedError, HubUnreachableError } from '../../agent/hub-client.ts';
import type { TaskView } from '../../hub/engine-types.ts';
import { digestOf } from '../../protocol/digest.ts';
import { runDcloud } from '../support/agent-process.ts';
import { expectRejection } from '../support/expect-error.ts';
import { type FakeHub, json, startFakeHub } from '../support/fake-hub.ts';

let hub: FakeHub;
beforeEach(async () => {
  hub = await startFakeHub();
});
afterEach(async () => {
  await hub.close();
});

async function collect(events: AsyncIterable<HubEvent>): Promise<HubEvent[]> {
  const seen: HubEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

describe('the hub client\'s event stream', () => {
  it('parses events split anywhere, CRLF or LF, multi-line data, comments; drops events without data', async () => {
    hub.handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const pieces = ['retry: 3000\n:connected\n\n', 'event: task\r\ndata: {"a":', '1}\r', '\n\r\n', 'data: line1\ndata: line2\n\n', 'event: lonely\n\n', 'id: 7\nevent: decision\ndata:{"b":2}\n\n'];
      let i = 0;
      const next = () => {
        if (i < pieces.length) {
          res.write(pieces[i++]);
          setTimeout(next, 10);
        } else res.end();
      };
      next();
    };
    expect(await collect(createHubClient(hub.url).events({}))).toEqual([
      { event: 'open', data: '' },
      { event: 'task', data: '{"a":1}' },
      { event: 'message', data: 'line1\nline2' },
      { event: 'decision', data: '{"b":2}' },
    ]);
    expect(hub.requests).toEqual(['GET /v1/events']);
  });

  it('asks for one task\'s events only when told to', async () => {
    hub.handler = (_req, _body, res) => res.writeHead(200, { 'content-type': 'text/event-stream' }).end();
    await collect(createHubClient(hub.url).events({ task: 'ab'.repeat(32) }));
    expect(hub.requests).toEqual([`GET /v1/events?task=${'ab'.repeat(32)}`]);
  });

  it('refuses what is not an event stream, and an event without end', async () => {
    hub.handler = (_req, _body, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
    await expectRejection(collect(createHubClient(hub.url).events({})), HubBadResponseError, HubClientErrorCodes.BAD_RESPONSE);

    hub.handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const line = `data: ${'x'.repeat(64 * 1024)}\n`;
      const pump = () => {
        while (!res.destroyed && res.write(line));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    };
    await expectRejection(collect(createHubClient(hub.url).events({})), HubBadResponseError, HubClientErrorCodes.BAD_RESPONSE);
  });
});

describe('the hub client\'s errors', () => {
  it('names the hub\'s own refusal, a broken answer, and silence', async () => {
    hub.handler = (_req, _body, res) => json(res, 404, { error: { code: 'TASK_NOT_FOUND', message: 'no task' } });
    const refused = await expectRejection(createHubClient(hub.url).getTask('ab'), HubRejectedError, 'TASK_NOT_FOUND');
    expect(refused.status).toBe(404);

    hub.handler = (_req, _body, res) => json(res, 200, { task: { id: 1 } });
    await expectRejection(createHubClient(hub.url).getTask('ab'), HubBadResponseError, HubClientErrorCodes.BAD_RESPONSE);

    hub.handler = () => {}; // never answers
    await expectRejection(createHubClient(hub.url, { timeoutMs: 200 }).info(), HubUnreachableError, HubClientErrorCodes.UNREACHABLE);
  });
});

describe('dcloud submit --wait against a hub without an event stream', () => {
  it('falls back to polling and still prints the result', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dcloud-submit-poll-'));
    let task: TaskView | undefined;
    let polls = 0;
    hub.handler = (req, body, res) => {
      if (req.method === 'POST' && req.url === '/v1/tasks') {
        const spec = JSON.parse(JSON.parse(body).task.payload).body;
        task = { id: 'cd'.repeat(32), submitter: 'ef'.repeat(16), home: '12'.repeat(16), status: 'validating', spec, submittedAt: 1, transitions: [{ status: 'validating', at: 1 }], staleness: 0, round: 0, assignments: [] };
        return json(res, 202, { task });
      }
      if (req.url === '/v1/events') return res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>');
      if (req.url === `/v1/tasks/${'cd'.repeat(32)}` && task !== undefined) {
        polls++;
        if (polls >= 2) task = { ...task, status: 'validated', result: { digest: digestOf(0, '42\n'), stdout: Buffer.from('42\n').toString('base64'), exitCode: 0, text: '42\n' } };
        return json(res, 200, { task });
      }
      return json(res, 404, { error: { code: 'NOT_FOUND', message: String(req.url) } });
    };
    try {
      const run = await runDcloud(['submit', '--hub', hub.url, '--image', 'img:1', '--wait', '--key', join(dir, 'user.key'), '--', 'echo', '42']);
      expect(run.stderr).toContain('polling instead');
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`${'cd'.repeat(32)}\n42\nvalidated\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
