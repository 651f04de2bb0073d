import { describe, expect, it } from 'vitest';
import type { ExecutionOutcome } from '../../agent/executor.ts';
import { digestOf } from '../../protocol/digest.ts';
import { seal } from '../../protocol/envelope.ts';
import { createSigner, generateKeyPair } from '../../keys/keypair.ts';
import { AGENT_RESTARTED, REPORT_CAPS, restartedReport, resultReport } from '../../agent/report.ts';

const ids = { assignmentId: 'a'.repeat(64), taskId: 'b'.repeat(64) };
const signer = createSigner(generateKeyPair());

describe('resultReport', () => {
  it('reports a successful run with its digest and base64 output', () => {
    const outcome: ExecutionOutcome = {
      outcome: 'ok',
      exitCode: 0,
      digest: digestOf(0, '42\n'),
      stdout: Buffer.from('42\n'),
      stderr: Buffer.from('warn\n'),
      truncated: false,
      durationMs: 12.4,
    };
    const report = resultReport(ids, outcome);
    expect(report).toEqual({
      ...ids,
      outcome: 'ok',
      exitCode: 0,
      digest: digestOf(0, '42\n'),
      stdout: Buffer.from('42\n').toString('base64'),
      stderr: Buffer.from('warn\n').toString('base64'),
      truncated: false,
      durationMs: 12,
    });
    // What the agent reports, it can sign: the body matches the protocol's schema.
    expect(() => seal('result', report, signer)).not.toThrow();
  });

  it('reports a failure with null exit code and digest, and the reason first in error', () => {
    const outcome: ExecutionOutcome = { outcome: 'error', reason: 'TIMEOUT', message: 'ran past 5 s', exitCode: 137, stdout: Buffer.from('partial'), durationMs: 5000 };
    const report = resultReport(ids, outcome);
    expect(report.outcome).toBe('error');
    expect(report.exitCode).toBeNull();
    expect(report.digest).toBeNull();
    expect(report.error).toBe('TIMEOUT: ran past 5 s');
    expect(Buffer.from(report.stdout, 'base64').toString()).toBe('partial');
    expect(() => seal('result', report, signer)).not.toThrow();
  });

  it('cuts output to the caps so the signed result fits its envelope, and says so', () => {
    const big = Buffer.alloc(REPORT_CAPS.stdoutBytes + 10, 0x61);
    const outcome: ExecutionOutcome = { outcome: 'ok', exitCode: 0, digest: digestOf(0, big), stdout: big, stderr: Buffer.alloc(0), truncated: false, durationMs: 1 };
    const report = resultReport(ids, outcome);
    expect(Buffer.from(report.stdout, 'base64').length).toBe(REPORT_CAPS.stdoutBytes);
    expect(report.truncated).toBe(true);
    // The digest still covers the whole output, so agents with other caps agree.
    expect(report.digest).toBe(digestOf(0, big));
    expect(Buffer.byteLength(seal('result', report, signer).payload)).toBeLessThan(1024 * 1024);
  });

  it('keeps an error message within the protocol limit', () => {
    const report = resultReport(ids, { outcome: 'error', reason: 'DOCKER_ERROR', message: 'x'.repeat(5000), durationMs: 0 });
    expect(report.error!.length).toBe(2048);
    expect(() => seal('result', report, signer)).not.toThrow();
  });
});

describe('restartedReport', () => {
  it('is a failure naming the restart', () => {
    const report = restartedReport(ids, 1234);
    expect(report).toMatchObject({ ...ids, outcome: 'error', exitCode: null, digest: null, durationMs: 1234 });
    expect(report.error).toBe(`${AGENT_RESTARTED}: agent restarted during execution`);
    expect(() => seal('result', report, signer)).not.toThrow();
  });
});
