// `dcloud --help`, `dcloud hub` configuration errors and `dcloud keys`, run in-process through
// main() with captured output and a temporary config dir.
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadKeyFile, nodeIdOf } from '../../keys/index.ts';
import { main } from '../../src/cli/main.ts';

async function run(argv: string[], options: { env?: NodeJS.ProcessEnv; stdin?: string } = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  const code = await main(argv, { stdout, stderr, stdin: Readable.from([options.stdin ?? '']), env: options.env ?? {} });
  return { code, out, err };
}

describe('dcloud command line', () => {
  it('lists every command in --help', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    for (const command of ['hub', 'keys']) expect(out).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
  });

  it('lists every hub parameter with its variable in `hub --help`', async () => {
    const { code, out } = await run(['hub', '--help']);
    expect(code).toBe(0);
    expect(out).toMatch(/--data <value>.*DCLOUD_HUB_DATA/s);
    expect(out).toMatch(/--policy <value>.*DCLOUD_HUB_POLICY/s);
    expect(out).toMatch(/--config <file>/);
  });

  it('exits 2 with a clear message on an invalid hub configuration or an unknown flag', async () => {
    const bad = await run(['hub', '--tick-ms', 'often']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--tick-ms: must be an integer/);
    const env = await run(['hub'], { env: { DCLOUD_HUB_TRUST_MIN: '9', DCLOUD_HUB_TRUST_MAX: '2' } });
    expect(env.code).toBe(2);
    expect(env.err).toMatch(/trust\.min: must not exceed trust\.max/);
    expect((await run(['hub', '--no-such-flag'])).code).toBe(2);
  });

  it('creates a key in the user config dir and shows it', async () => {
    const home = await mkdtemp(join(tmpdir(), 'dcloud-cli-'));
    const env = { XDG_CONFIG_HOME: home };
    const created = await run(['keys', 'new'], { env });
    expect(created.code).toBe(0);
    const file = join(home, 'dcloud', 'user.key');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const pair = await loadKeyFile(file);
    expect(created.out).toContain(nodeIdOf(pair.publicKey));
    expect(created.out).toContain(Buffer.from(pair.publicKey).toString('hex'));

    const shown = await run(['keys', 'show'], { env });
    expect(shown.code).toBe(0);
    expect(shown.out).toBe(created.out);

    // Never overwrites an identity.
    const again = await run(['keys', 'new'], { env });
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already exists/);
  });

  it('encrypts a key with a passphrase from stdin; show needs none', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dcloud-cli-'));
    const file = join(dir, 'me.key');
    const created = await run(['keys', 'new', '--file', file, '--passphrase-stdin'], { stdin: 'correct horse\n' });
    expect(created.code).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8'))).toHaveProperty('cipher');
    await expect(loadKeyFile(file)).rejects.toThrow(/encrypted/);
    const pair = await loadKeyFile(file, { passphrase: 'correct horse' });
    const shown = await run(['keys', 'show', '--file', file]);
    expect(shown.out).toContain(nodeIdOf(pair.publicKey));

    const empty = await run(['keys', 'new', '--file', join(dir, 'empty.key'), '--passphrase-stdin'], { stdin: '' });
    expect(empty.code).toBe(1);
    expect(empty.err).toMatch(/no passphrase/);
  });
});
