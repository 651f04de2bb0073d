import type { ExecutionOutcome } from './executor.ts';
import type { MessageBody } from '../protocol/messages.ts';

/**
 * What an agent reports for one assignment: the body of its signed `result` message, made from
 * what the executor saw. Pure, so every agent (and the simulator) reports the same way.
 */

export type ResultReport = MessageBody<'result'>;

/**
 * The kept output must fit a result envelope (1 MiB of payload, base64 adds a third): 512 KiB
 * of stdout and 64 KiB of stderr leave room for the rest. The digest always covers the whole stdout.
 */
export const REPORT_CAPS = { stdoutBytes: 512 * 1024, stderrBytes: 64 * 1024 } as const;

const MAX_ERROR_CHARS = 2048;

/** The failure code of an assignment that was running when its agent died. */
export const AGENT_RESTARTED = 'AGENT_RESTARTED';

export interface AssignmentIds {
  assignmentId: string;
  taskId: string;
}

function kept(bytes: Buffer | undefined, cap: number): { text: string; cut: boolean } {
  if (bytes === undefined) return { text: '', cut: false };
  const cut = bytes.length > cap;
  return { text: (cut ? bytes.subarray(0, cap) : bytes).toString('base64'), cut };
}

/** A failed run, with a stable code first in `error` (`CODE: why`). */
export function failureReport(ids: AssignmentIds, code: string, message: string, durationMs: number, stdout = '', stderr = '', truncated = false): ResultReport {
  return {
    ...ids,
    outcome: 'error',
    exitCode: null,
    digest: null,
    stdout,
    stderr,
    truncated,
    durationMs: Math.max(0, Math.round(durationMs)),
    error: `${code}: ${message}`.slice(0, MAX_ERROR_CHARS),
  };
}

export function resultReport(ids: AssignmentIds, outcome: ExecutionOutcome, caps: typeof REPORT_CAPS = REPORT_CAPS): ResultReport {
  const stdout = kept(outcome.stdout, caps.stdoutBytes);
  const stderr = kept(outcome.stderr, caps.stderrBytes);
  if (outcome.outcome === 'error') {
    return failureReport(ids, outcome.reason, outcome.message, outcome.durationMs, stdout.text, stderr.text, stdout.cut || stderr.cut);
  }
  return {
    ...ids,
    outcome: 'ok',
    exitCode: outcome.exitCode,
    digest: outcome.digest,
    stdout: stdout.text,
    stderr: stderr.text,
    truncated: outcome.truncated || stdout.cut || stderr.cut,
    durationMs: Math.max(0, Math.round(outcome.durationMs)),
  };
}

/**
 * The report for an assignment that was running when the agent died: a failure, so the hub
 * reassigns it at once, and never a second run of something that may have had effects.
 */
export function restartedReport(ids: AssignmentIds, durationMs: number): ResultReport {
  return failureReport(ids, AGENT_RESTARTED, 'agent restarted during execution', durationMs);
}
