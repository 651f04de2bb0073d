import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { AgentView, RegistryAuth, TaskView, WorkGrant } from '../hub/engine-types.ts';
import { DcloudError } from '../protocol/errors.ts';
import { nodeFetch } from './http-fetch.ts';
import { Envelope, type MessageBody, NodeId, PublicKeyHex } from '../protocol/messages.ts';
import { solvePow } from '../protocol/pow.ts';

/**
 * The one HTTP client of a hub's API (docs/PROTOCOL.md), shared by the agent and the `submit` and
 * `status` commands. Every answer is checked against a schema before anyone reads it: a hub that
 * answers garbage, HTML, the wrong JSON or an endless body produces a typed error, never a crash
 * and never a half-read object.
 */

export const HubClientErrorCodes = {
  UNREACHABLE: 'HUB_UNREACHABLE',
  BAD_RESPONSE: 'HUB_BAD_RESPONSE',
  INVALID_URL: 'HUB_URL_INVALID',
} as const;

/** No answer: refused, reset, DNS, or no answer within the timeout. Worth retrying. */
export class HubUnreachableError extends DcloudError {
  constructor(url: string, why: string, options?: { cause?: unknown }) {
    super(HubClientErrorCodes.UNREACHABLE, `hub ${url} is unreachable: ${why}`, 502, options);
    this.name = 'HubUnreachableError';
  }
}

/** An answer that is not what the API promises (not JSON, wrong shape, too large). */
export class HubBadResponseError extends DcloudError {
  readonly hubStatus: number;
  constructor(url: string, hubStatus: number, why: string) {
    super(HubClientErrorCodes.BAD_RESPONSE, `hub ${url} answered HTTP ${hubStatus} that is not understood: ${why}`, 502);
    this.name = 'HubBadResponseError';
    this.hubStatus = hubStatus;
  }
}

/** The hub refused the request with its own error `{ error: { code, message } }`; code and status are the hub's. */
export class HubRejectedError extends DcloudError {
  constructor(code: string, message: string, status: number) {
    super(code, message, status);
    this.name = 'HubRejectedError';
  }
}

export class InvalidHubUrlError extends DcloudError {
  constructor(url: string) {
    super(HubClientErrorCodes.INVALID_URL, `${JSON.stringify(url)} is not an http(s) URL of a hub`, 400);
    this.name = 'InvalidHubUrlError';
  }
}

/** Whether the same request may succeed later: the hub is down, overloaded or broken, not refusing us. */
export function isTransient(err: unknown): boolean {
  if (err instanceof HubUnreachableError || err instanceof HubBadResponseError) return true;
  return err instanceof HubRejectedError && (err.status >= 500 || err.status === 408 || err.status === 429);
}

// Answers are open objects: a newer hub may add fields; what we read must be there and be right.
const HubInfo = Type.Object({ id: NodeId, publicKey: PublicKeyHex, version: Type.String() });
export type HubInfo = Static<typeof HubInfo>;

const Res = Type.Object({ cpu: Type.Number(), ramGb: Type.Number() });
const AgentAnswer = Type.Object({
  agent: Type.Object({ id: NodeId, name: Type.String(), trust: Type.Number(), active: Type.Boolean(), total: Res, free: Res }),
});
const RegistryAuthSchema = Type.Object({ username: Type.String(), password: Type.String(), serveraddress: Type.Optional(Type.String()) });
const WorkAnswer = Type.Object({ assignment: Envelope, registryAuth: Type.Optional(RegistryAuthSchema) });
const TaskViewSchema = Type.Object({
  id: Type.String(),
  submitter: Type.String(),
  status: Type.String(),
  spec: Type.Object({ image: Type.String(), command: Type.Array(Type.String()) }),
  submittedAt: Type.Number(),
  transitions: Type.Array(Type.Object({ status: Type.String(), at: Type.Number() })),
  assignments: Type.Array(Type.Object({ id: Type.String(), agentId: Type.String(), status: Type.String() })),
  result: Type.Optional(Type.Object({ digest: Type.String(), stdout: Type.String(), text: Type.String() })),
  reason: Type.Optional(Type.String()),
});
const ResultAnswer = Type.Object({ assignmentId: Type.String(), duplicate: Type.Boolean(), task: TaskViewSchema });
const TaskAnswer = Type.Object({ task: TaskViewSchema });
const TaskListAnswer = Type.Object({ tasks: Type.Array(TaskViewSchema) });
const ChallengeAnswer = Type.Object({ challenge: Type.String({ maxLength: 128 }), bits: Type.Integer({ minimum: 0, maximum: 32 }), expiresAt: Type.Number() });

/** The proof of work a registration carries (docs/PROTOCOL.md, agent.register). */
export type RegistrationPow = NonNullable<MessageBody<'agent.register'>['pow']>;

const ErrorAnswer = Type.Object({ error: Type.Object({ code: Type.String({ minLength: 1, maxLength: 128 }), message: Type.String() }) });

const checks = new Map<TSchema, TypeCheck<TSchema>>();
function checkerOf<T extends TSchema>(schema: T): TypeCheck<T> {
  let check = checks.get(schema);
  if (check === undefined) {
    check = TypeCompiler.Compile(schema);
    checks.set(schema, check);
  }
  return check as TypeCheck<T>;
}

export interface ResultAck {
  assignmentId: string;
  duplicate: boolean;
  task: TaskView;
}

export interface HubEvent {
  /**
   * The SSE `event:` field ("message" when absent). The stream first yields `open` (no data) once
   * it is established: from then on no change is missed, so that is when to read the current state.
   */
  event: string;
  data: string;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface HubClientOptions {
  /** Per request, ms (default 10 s). The SSE stream has none. */
  timeoutMs?: number;
  /** Largest answer read, bytes (default 4 MiB); a larger one is a bad response. */
  maxResponseBytes?: number;
}

export interface HubClient {
  /** The hub's base URL, normalised (no trailing slash). */
  readonly url: string;
  info(options?: CallOptions): Promise<HubInfo>;
  /**
   * Registers. Given a builder instead of an envelope, it also pays a hub that asks new keys for a
   * proof of work (POW_REQUIRED): it fetches the hub's challenge, solves it, and registers again
   * with the solution in the signed body.
   */
  register(envelope: Envelope | ((pow: RegistrationPow | undefined) => Envelope), options?: CallOptions): Promise<{ agent: AgentView; created: boolean }>;
  heartbeat(envelope: Envelope, options?: CallOptions): Promise<AgentView>;
  /** null when the hub has nothing for us now (204). */
  requestWork(envelope: Envelope, options?: CallOptions): Promise<WorkGrant | null>;
  submitResult(envelope: Envelope, options?: CallOptions): Promise<ResultAck>;
  submitTask(envelope: Envelope, registryAuth: RegistryAuth | undefined, options?: CallOptions): Promise<{ task: TaskView; created: boolean }>;
  getTask(id: string, options?: CallOptions): Promise<TaskView>;
  listTasks(filter: { submitter?: string; status?: string; limit?: number }, options?: CallOptions): Promise<TaskView[]>;
  /** The hub's server-sent events (only one task's with `task`), until the stream ends or `signal` aborts. */
  events(filter: { task?: string }, options?: CallOptions): AsyncGenerator<HubEvent>;
}

export function normaliseHubUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidHubUrlError(url);
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.search !== '' || parsed.hash !== '') throw new InvalidHubUrlError(url);
  return parsed.href.replace(/\/+$/, '');
}

interface Answer {
  status: number;
  json: unknown;
}

export function createHubClient(hubUrl: string, options: HubClientOptions = {}): HubClient {
  const url = normaliseHubUrl(hubUrl);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBytes = options.maxResponseBytes ?? 4 * 1024 * 1024;

  async function call(method: 'GET' | 'POST', path: string, body: unknown, call: CallOptions): Promise<Answer> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = call.signal === undefined ? timeout : AbortSignal.any([call.signal, timeout]);
    let res: Response;
    let text: string;
    try {
      res = await nodeFetch(url + path, {
        method,
        signal,
        headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      text = await readCapped(res, maxBytes);
    } catch (err) {
      if (call.signal?.aborted) throw call.signal.reason;
      if (err instanceof HubBadResponseError) throw err;
      if (timeout.aborted) throw new HubUnreachableError(url, `no answer within ${timeoutMs} ms`, { cause: err });
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new HubUnreachableError(url, cause?.code ?? cause?.message ?? (err as Error).message, { cause: err });
    }
    if (res.status === 204) return { status: 204, json: undefined };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new HubBadResponseError(url, res.status, `not JSON (${describe(res, text)})`);
    }
    if (res.status >= 400) {
      if (!checkerOf(ErrorAnswer).Check(json)) throw new HubBadResponseError(url, res.status, 'an error without { error: { code, message } }');
      throw new HubRejectedError(json.error.code, `hub ${url}: ${json.error.message}`, res.status);
    }
    if (res.status < 200 || res.status >= 300) throw new HubBadResponseError(url, res.status, 'unexpected status');
    return { status: res.status, json };
  }

  async function readCapped(res: Response, cap: number): Promise<string> {
    if (res.body === null) return '';
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > cap) {
        await reader.cancel();
        throw new HubBadResponseError(url, res.status, `answer larger than ${cap} bytes`);
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  function expect<T extends TSchema>(answer: Answer, schema: T, what: string): Static<T> {
    const check = checkerOf(schema);
    if (!check.Check(answer.json)) {
      const first = check.Errors(answer.json).First();
      throw new HubBadResponseError(url, answer.status, `${what} does not match the API (${first ? `${first.path || '/'}: ${first.message}` : 'invalid'})`);
    }
    return answer.json;
  }

  return {
    url,
    async info(o = {}) {
      return expect(await call('GET', '/v1/hub', undefined, o), HubInfo, 'GET /v1/hub');
    },
    async register(build, o = {}) {
      const make = typeof build === 'function' ? build : () => build;
      let answer: Answer;
      try {
        answer = await call('POST', '/v1/agents/register', make(undefined), o);
      } catch (err) {
        if (typeof build !== 'function' || !(err instanceof HubRejectedError) || err.code !== 'POW_REQUIRED') throw err;
        const { challenge, bits } = expect(await call('GET', '/v1/agents/challenge', undefined, o), ChallengeAnswer, 'proof-of-work challenge');
        const signer = (JSON.parse(make(undefined).payload) as { signer: string }).signer;
        const nonce = await solvePow(challenge, signer, bits, o.signal);
        answer = await call('POST', '/v1/agents/register', make({ challenge, nonce, bits }), o);
      }
      const { agent } = expect(answer, AgentAnswer, 'registration answer');
      return { agent: agent as unknown as AgentView, created: answer.status === 201 };
    },
    async heartbeat(envelope, o = {}) {
      return expect(await call('POST', '/v1/agents/heartbeat', envelope, o), AgentAnswer, 'heartbeat answer').agent as unknown as AgentView;
    },
    async requestWork(envelope, o = {}) {
      const answer = await call('POST', '/v1/work', envelope, o);
      if (answer.status === 204) return null;
      return expect(answer, WorkAnswer, 'work answer');
    },
    async submitResult(envelope, o = {}) {
      return expect(await call('POST', '/v1/results', envelope, o), ResultAnswer, 'result answer') as unknown as ResultAck;
    },
    async submitTask(envelope, registryAuth, o = {}) {
      const answer = await call('POST', '/v1/tasks', registryAuth === undefined ? { task: envelope } : { task: envelope, registryAuth }, o);
      const { task } = expect(answer, TaskAnswer, 'submission answer');
      return { task: task as unknown as TaskView, created: answer.status === 202 };
    },
    async getTask(id, o = {}) {
      return expect(await call('GET', `/v1/tasks/${encodeURIComponent(id)}`, undefined, o), TaskAnswer, 'task').task as unknown as TaskView;
    },
    async listTasks(filter, o = {}) {
      const query = new URLSearchParams();
      for (const [k, v] of Object.entries(filter)) if (v !== undefined) query.set(k, String(v));
      const answer = await call('GET', `/v1/tasks?${query}`, undefined, o);
      return expect(answer, TaskListAnswer, 'task list').tasks as unknown as TaskView[];
    },
    events(filter, o = {}) {
      return streamEvents(url + (filter.task === undefined ? '/v1/events' : `/v1/events?task=${encodeURIComponent(filter.task)}`), url, o.signal);
    },
  };
}

function describe(res: Response, text: string): string {
  const type = res.headers.get('content-type') ?? 'no content type';
  const start = text.slice(0, 40).replace(/\s+/g, ' ');
  return `${type}, starting ${JSON.stringify(start)}`;
}

const MAX_EVENT_CHARS = 8 * 1024 * 1024;

/** The text/event-stream format (WHATWG HTML §9.2): `event:` and `data:` lines, a blank line ends an event. */
async function* streamEvents(address: string, url: string, signal: AbortSignal | undefined): AsyncGenerator<HubEvent> {
  let res: Response;
  try {
    res = await nodeFetch(address, { headers: { accept: 'text/event-stream' }, signal });
  } catch (err) {
    if (signal?.aborted) return;
    throw new HubUnreachableError(url, (err as Error).message, { cause: err });
  }
  const type = res.headers.get('content-type') ?? '';
  if (res.status !== 200 || !type.startsWith('text/event-stream') || res.body === null) {
    await res.body?.cancel();
    throw new HubBadResponseError(url, res.status, `GET /v1/events is not an event stream (${type || 'no content type'})`);
  }
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let size = 0;
  const reader = res.body.getReader();
  try {
    yield { event: 'open', data: '' };
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (signal?.aborted) return;
        throw new HubUnreachableError(url, `event stream broke: ${(err as Error).message}`, { cause: err });
      }
      if (chunk.done) return;
      buffer += decoder.decode(chunk.value, { stream: true });
      let newline;
      while ((newline = buffer.search(/\r\n|\r|\n/)) !== -1) {
        // A CR that ends the chunk may be the first half of a CRLF: wait for the next chunk.
        if (newline === buffer.length - 1 && buffer.endsWith('\r')) break;
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        if (line === '') {
          if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
          size = 0;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') {
          data.push(value);
          size += value.length;
        }
      }
      // One event larger than this is not an event of this API.
      if (buffer.length + size > MAX_EVENT_CHARS) throw new HubBadResponseError(url, 200, `an event larger than ${MAX_EVENT_CHARS} characters`);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
