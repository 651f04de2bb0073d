import { setTimeout as delay } from 'node:timers/promises';
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils';
import type { Signer } from '../../keys/keypair.ts';
import type { Verifier } from '../../keys/verifier.ts';
import { type Opened, open, seal } from '../../protocol/envelope.ts';
import { DEFAULT_MAX_PAYLOAD_BYTES, type Envelope, type MessageBody, type MessageType } from '../../protocol/messages.ts';
import { BatchVerifier } from './batch-verifier.ts';
import { SyncProtocolError, SyncThrottledError } from './errors.ts';
import { encodeGossip } from './gossip.ts';
import { nodeIdOfPeer, publicKeyHexOfPeer } from './identity.ts';
import { type LogEntry, logEntryOf } from './log-entry.ts';
import type { FederationLogStore } from './log-store.ts';
import type { SyncThrottle } from './throttle.ts';
import { HUB_TYPES } from './topics.ts';

/**
 * Anti-entropy over `<prefix>/sync/1.0.0`: a request/response protocol on one libp2p stream,
 * frames length-prefixed (unsigned varint, then the envelope's JSON text as in gossip).
 *
 * The asking hub sends a signed `sync.request` { origin, after, limit }; the peer answers each with
 * a signed `sync.response` { origin, entries, more } holding that origin's log entries after
 * `after`, in order; the asker pages until `more` is false, then closes its side. Both envelopes
 * are fresh (checked like any live message) and signed by the hub behind the libp2p peer that
 * sends them. The entries inside are archived messages: checked by signature only, each alone,
 * and each must be the origin's own entry at exactly the position asked for.
 *
 * The directory: `origin` = 32 zeros (a node id no key has) asks for the first entry of EVERY
 * origin the peer knows, `after` counting origins to skip. This is how a hub learns of hubs it has
 * never heard of (one that came and went while it was down), without a message type of its own:
 * each first entry proves by its signature that its origin exists.
 */

export const DIRECTORY_ORIGIN = '0'.repeat(32);

export function syncProtocol(prefix: string): string {
  return `${prefix}/sync/1.0.0`;
}

/** Entries per response, and their JSON bytes (one larger entry still goes, alone). */
const PAGE_LIMIT = 1000;
const PAGE_BYTES = 6 * 1024 * 1024;
/** A response's envelope text: the payload, escaped once more inside `{"payload":…}`. */
const MAX_RESPONSE_FRAME = 2 * DEFAULT_MAX_PAYLOAD_BYTES['sync.response'] + 1024;
const MAX_REQUEST_FRAME = 2 * DEFAULT_MAX_PAYLOAD_BYTES['sync.request'] + 1024;
/** Longest silence within a session before it is abandoned, ms. */
const SESSION_IDLE_MS = 20_000;
const LOGGED_TYPES = [...HUB_TYPES] as MessageType[];

export interface SyncDeps {
  store: FederationLogStore;
  /** Paces the requests each peer makes of this hub (serving side); none: unlimited. */
  throttle?: SyncThrottle;
  signer: Signer;
  verifier: Verifier;
  /** Freshness window of the request and response envelopes, ms. */
  freshnessMs: number;
  now(): number;
}

function decode<T extends MessageType>(frame: Uint8Array, type: T, deps: SyncDeps): Opened<T> {
  return open<T>(Buffer.from(frame).toString('utf8'), {
    verifier: deps.verifier,
    expect: [type],
    now: deps.now(),
    maxAgeMs: deps.freshnessMs,
    maxSkewMs: deps.freshnessMs,
  });
}

function idle(signal: AbortSignal): AbortSignal {
  return AbortSignal.any([signal, AbortSignal.timeout(SESSION_IDLE_MS)]);
}

function isEndOfStream(err: unknown): boolean {
  return err instanceof Error && err.name === 'UnexpectedEOFError';
}

/** Answers one peer's sync session: every request in turn, until the peer closes its side. */
export async function serveSync(stream: Stream, connection: Connection, deps: SyncDeps, signal: AbortSignal): Promise<void> {
  const peerKey = publicKeyHexOfPeer(connection.remotePeer);
  const peer = connection.remotePeer.toString();
  const lp = lpStream(stream, { maxDataLength: MAX_REQUEST_FRAME });
  if (deps.throttle !== undefined && !deps.throttle.open(peer, deps.now())) {
    const err = new SyncThrottledError(peer, 'too many sync sessions open at once');
    stream.abort(err);
    throw err;
  }
  try {
    while (true) {
      let frame;
      try {
        frame = await lp.read({ signal: idle(signal) });
      } catch (err) {
        if (isEndOfStream(err)) break;
        throw err;
      }
      const admission = deps.throttle?.request(peer, deps.now()) ?? { admit: true, waitMs: 0 };
      if (!admission.admit) throw new SyncThrottledError(peer, 'sync requests beyond the rate this hub serves one peer');
      if (admission.waitMs > 0) await delay(admission.waitMs, undefined, { signal });
      const request = decode(frame.subarray(), 'sync.request', deps);
      if (request.signer !== peerKey) throw new SyncProtocolError(peer, 'the sync.request is not signed by the peer that sent it');
      const { origin, after, limit } = request.body;
      const page = origin === DIRECTORY_ORIGIN
        ? await deps.store.firsts(after, Math.min(limit, PAGE_LIMIT), PAGE_BYTES)
        : await deps.store.since(origin, after, Math.min(limit, PAGE_LIMIT), PAGE_BYTES);
      const response = seal('sync.response', { origin, entries: page.entries, more: page.more }, deps.signer);
      await lp.write(encodeGossip(response), { signal: idle(signal) });
    }
    await stream.close({ signal: idle(signal) });
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)));
    throw err;
  } finally {
    deps.throttle?.close(peer);
  }
}

export interface SyncSessionOptions {
  /** Ask for the directory first (on connect and periodically; not for a gap just seen in gossip). */
  directory: boolean;
  signal: AbortSignal;
}

export interface SyncReport {
  /** Entries received that this hub did not have. */
  received: number;
  /** Origins asked about. */
  origins: number;
}

/**
 * What the asker does with a page of entries that verified, in log order: hand them to the engine
 * and the log (the federation's job). Returns how many of them this hub did not have.
 */
export type PageSink = (page: ReadonlyArray<{ opened: Opened; entry: LogEntry }>) => Promise<number>;

/** What a log entry carries that is signed too, verified along with it (a task's spec, a decision's results). */
function carried(body: unknown, type: string): readonly unknown[] {
  if (body === null || typeof body !== 'object') return [];
  if (type === 'task.announce') return [(body as { task?: unknown }).task];
  if (type === 'decision') {
    const results = (body as { results?: unknown }).results;
    return Array.isArray(results) ? results : [];
  }
  return [];
}

/**
 * One sync session with one peer: the directory (optionally), then for every origin known here or
 * there, everything after this hub's head for it, page by page. Throws SyncProtocolError if the
 * peer breaks the protocol, and the stream's own error if the connection fails; the entries
 * accepted before either are kept.
 *
 * Pipelined: the next page is asked for as soon as a page arrives, and a page's signatures are
 * verified on worker threads (BatchVerifier.prepare) while the page before it is applied, so the
 * network, the verification and the engine's work overlap. Pages are still applied in order.
 */
export async function syncFrom(
  dialProtocol: (peer: PeerId, protocol: string, options: { signal: AbortSignal }) => Promise<Stream>,
  protocol: string,
  peer: PeerId,
  deps: SyncDeps,
  sink: PageSink,
  options: SyncSessionOptions,
): Promise<SyncReport> {
  const peerName = peer.toString();
  const peerKey = publicKeyHexOfPeer(peer);
  const stream = await dialProtocol(peer, protocol, { signal: idle(options.signal) });
  const lp = lpStream(stream, { maxDataLength: MAX_RESPONSE_FRAME, maxBufferSize: MAX_RESPONSE_FRAME });
  const report: SyncReport = { received: 0, origins: 0 };
  // The page being applied; a failure is kept and thrown at the next wait, never left unhandled.
  let applying: Promise<unknown> = Promise.resolve();
  let failure: { error: unknown } | undefined;
  const settle = async (): Promise<void> => {
    await applying;
    if (failure !== undefined) throw failure.error;
  };
  const apply = async (page: Array<{ opened: Opened; entry: LogEntry }>): Promise<void> => {
    await settle();
    if (page.length === 0) return;
    applying = sink(page).then(
      (n) => {
        report.received += n;
      },
      (error: unknown) => {
        failure = { error };
      },
    );
  };
  const prepare = (envelopes: readonly Envelope[]): Promise<void> =>
    deps.verifier instanceof BatchVerifier ? deps.verifier.prepare(envelopes, carried) : Promise.resolve();
  try {
    const origins = new Set(deps.store.origins());
    const peerOrigin = nodeIdOfPeer(peer);
    if (peerOrigin !== undefined) origins.add(peerOrigin);

    if (options.directory) {
      let skip = 0;
      while (true) {
        const page = await ask(lp, DIRECTORY_ORIGIN, skip, deps, peerName, peerKey, options.signal);
        await prepare(page.entries);
        const verified = page.entries.map((envelope) => verifyEntry(envelope, peerName, deps, { seq: 1 }));
        for (const { entry } of verified) origins.add(entry.origin);
        await apply(verified.filter(({ entry }) => !deps.store.holds(entry.origin, 1)));
        skip += page.entries.length;
        if (!page.more || page.entries.length === 0) break;
      }
      await settle();
    }

    for (const origin of [...origins].sort()) {
      report.origins++;
      let after = deps.store.headOf(origin);
      await request(lp, origin, after, deps, options.signal);
      while (true) {
        const page = await response(lp, origin, deps, peerName, peerKey, options.signal);
        const last = !page.more || page.entries.length === 0;
        if (!last) await request(lp, origin, after + page.entries.length, deps, options.signal);
        // An entry at a place this hub holds already (beyond a gap) is not verified again: it is
        // the same entry, or an equivocation, of which the first one is kept anyway.
        const wanted = page.entries.flatMap((envelope, i) => (deps.store.holds(origin, after + 1 + i) ? [] : [{ envelope, seq: after + 1 + i }]));
        await prepare(wanted.map((w) => w.envelope));
        await apply(wanted.map(({ envelope, seq }) => verifyEntry(envelope, peerName, deps, { origin, seq })));
        after += page.entries.length;
        if (last) break;
      }
    }
    await settle();
    await stream.close({ signal: idle(options.signal) });
    return report;
  } catch (err) {
    await applying;
    stream.abort(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}

async function request(lp: LengthPrefixedStream<Stream>, origin: string, after: number, deps: SyncDeps, signal: AbortSignal): Promise<void> {
  const request = seal('sync.request', { origin, after, limit: PAGE_LIMIT }, deps.signer);
  await lp.write(encodeGossip(request), { signal: idle(signal) });
}

async function ask(
  lp: LengthPrefixedStream<Stream>,
  origin: string,
  after: number,
  deps: SyncDeps,
  peerName: string,
  peerKey: string | undefined,
  signal: AbortSignal,
): Promise<MessageBody<'sync.response'>> {
  await request(lp, origin, after, deps, signal);
  return response(lp, origin, deps, peerName, peerKey, signal);
}

async function response(
  lp: LengthPrefixedStream<Stream>,
  origin: string,
  deps: SyncDeps,
  peerName: string,
  peerKey: string | undefined,
  signal: AbortSignal,
): Promise<MessageBody<'sync.response'>> {
  const frame = await lp.read({ signal: idle(signal) });
  let response: Opened<'sync.response'>;
  try {
    response = decode(frame.subarray(), 'sync.response', deps);
  } catch (err) {
    throw new SyncProtocolError(peerName, `bad sync.response: ${(err as Error).message}`, { cause: err });
  }
  if (response.signer !== peerKey) throw new SyncProtocolError(peerName, 'the sync.response is not signed by the peer that sent it');
  if (response.body.origin !== origin) throw new SyncProtocolError(peerName, `asked for origin ${origin}, answered for ${response.body.origin}`);
  return response.body;
}

/** An archived entry, checked alone: signature (no freshness), a hub's own message, at the place asked for. */
function verifyEntry(envelope: Envelope, peerName: string, deps: SyncDeps, at: { origin?: string; seq: number }): { opened: Opened; entry: LogEntry } {
  let opened: Opened;
  let entry: LogEntry;
  try {
    opened = open(envelope, { verifier: deps.verifier, expect: LOGGED_TYPES });
    entry = logEntryOf(opened);
  } catch (err) {
    throw new SyncProtocolError(peerName, `an entry does not verify: ${(err as Error).message}`, { cause: err });
  }
  if (at.origin !== undefined && entry.origin !== at.origin) throw new SyncProtocolError(peerName, `an entry of ${entry.origin} was given as one of ${at.origin}`);
  if (entry.seq !== at.seq) throw new SyncProtocolError(peerName, `entry ${entry.seq} of ${entry.origin} was given at position ${at.seq}`);
  return { opened, entry };
}
