import type { Opened } from '../../protocol/envelope.ts';
import type { Envelope } from '../../protocol/messages.ts';
import { NotLoggableError } from './errors.ts';
import { HUB_TYPES } from './topics.ts';

/**
 * One entry of a hub's append-only log: an envelope the hub signed about its own work, at the
 * position (`seq`) the hub wrote INSIDE the signed body. Origin and position are therefore proven
 * by the signature alone: any hub may relay another's log, and none can renumber or forge it.
 */
export interface LogEntry {
  /** Node id of the hub that signed it. */
  readonly origin: string;
  readonly seq: number;
  /** Content id of the envelope (sha256 of its signed bytes). */
  readonly id: string;
  readonly envelope: Envelope;
}

/** The log entry an opened (verified) envelope is, or NotLoggableError saying why it is none. */
export function logEntryOf(opened: Opened): LogEntry {
  if (!HUB_TYPES.has(opened.type)) throw new NotLoggableError(`${opened.type} is not a hub's own message: it has no place in a hub's log`);
  const seq = (opened.body as { seq?: unknown }).seq;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    throw new NotLoggableError(`${opened.type} ${opened.id.slice(0, 16)}… carries no seq: it cannot take a place in its hub's log`);
  }
  if (opened.type === 'task.announce' && (opened.body as { home: string }).home !== opened.nodeId) {
    throw new NotLoggableError(`task.announce ${opened.id.slice(0, 16)}… names another home than its signer: a hub announces only its own tasks`);
  }
  return { origin: opened.nodeId, seq, id: opened.id, envelope: opened.envelope };
}
