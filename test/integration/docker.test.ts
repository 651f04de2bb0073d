// The Docker engine set up by scripts/bootstrap.sh runs the test image, and its log stream can be
// read back byte-exact once demultiplexed. Everything the agent's executor builds on.
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { docker, TEST_IMAGE } from '../support/env.ts';

async function collect(stream: PassThrough): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('Docker engine', () => {
  const engine = docker();
  let container: Docker.Container | undefined;

  afterEach(async () => {
    await container?.remove({ force: true });
    container = undefined;
  });

  it('runs echo 42 in the test image and returns exactly its stdout', async () => {
    container = await engine.createContainer({
      Image: TEST_IMAGE,
      Cmd: ['echo', '42'],
      HostConfig: { NetworkMode: 'none' },
    });
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };

    // Docker multiplexes stdout and stderr into 8-byte-framed chunks; read raw, the frame
    // headers would end up in the output.
    const logs = await container.logs({ follow: true, stdout: true, stderr: true });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    engine.modem.demuxStream(logs, stdout, stderr);
    logs.on('end', () => {
      stdout.end();
      stderr.end();
    });
    const [out, err] = await Promise.all([collect(stdout), collect(stderr)]);

    expect(StatusCode).toBe(0);
    expect(out).toBe('42\n');
    expect(err).toBe('');
  });
});
