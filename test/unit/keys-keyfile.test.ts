import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeKeyFile,
  encodeKeyFile,
  generateKeyPair,
  type KeyPair,
  loadKeyFile,
  loadOrCreateKeyFile,
  readPublicKey,
  saveKeyFile,
} from '../../keys/index.ts';
import { KeyFileError, KeyFileErrorCodes as K } from '../../protocol/errors.ts';
import { expectError, expectRejection } from '../support/expect-error.ts';

let dir: string;
let n = 0;
const fresh = () => join(dir, `key-${++n}`, 'node.key');
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const same = (a: KeyPair, b: KeyPair) => expect([hex(a.secretKey), hex(a.publicKey)]).toEqual([hex(b.secretKey), hex(b.publicKey)]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcloud-keys-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('plain key files', () => {
  it('save with mode 0600 in a 0700 folder, and load back the same pair', async () => {
    const path = fresh();
    const pair = generateKeyPair();
    await saveKeyFile(path, pair);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(path, '..'))).mode & 0o777).toBe(0o700);
    same(await loadKeyFile(path), pair);
    expect(hex(await readPublicKey(path))).toBe(hex(pair.publicKey));
  });

  it('never overwrite an existing identity', async () => {
    const path = fresh();
    const first = generateKeyPair();
    await saveKeyFile(path, first);
    await expectRejection(saveKeyFile(path, generateKeyPair()), KeyFileError, K.EXISTS);
    same(await loadKeyFile(path), first);
  });

  it('report a missing file with the command that creates one', async () => {
    const error = await expectRejection(loadKeyFile(join(dir, 'absent.key')), KeyFileError, K.NOT_FOUND);
    expect(error.message).toContain('dcloud keys new');
  });

  it('refuse a file other users can read, saying how to fix it', async () => {
    const path = fresh();
    await saveKeyFile(path, generateKeyPair());
    await chmod(path, 0o644);
    const error = await expectRejection(loadKeyFile(path), KeyFileError, K.INSECURE_PERMISSIONS);
    expect(error.message).toContain('chmod 600');
    expect(error.message).toContain('644');
    // Reading only the public key is refused too: the file itself is exposed.
    await expectRejection(readPublicKey(path), KeyFileError, K.INSECURE_PERMISSIONS);
    await chmod(path, 0o600);
    expect((await loadKeyFile(path)).publicKey).toHaveLength(32);
  });

  it('refuse a truncated file', async () => {
    const path = fresh();
    await saveKeyFile(path, generateKeyPair());
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.slice(0, text.length >> 1));
    await expectRejection(loadKeyFile(path), KeyFileError, K.CORRUPT);
    await expectRejection(readPublicKey(path), KeyFileError, K.CORRUPT);
  });

  it('refuse a file whose public key does not belong to its secret key', () => {
    const a = generateKeyPair();
    const text = encodeKeyFile(a).replace(hex(a.publicKey), hex(generateKeyPair().publicKey));
    const error = expectError(() => decodeKeyFile(text, 'x.key'), KeyFileError, K.CORRUPT);
    expect(error.message).toContain('does not match');
  });

  const broken: Record<string, string> = {
    'empty': '',
    'null': 'null',
    'another version': '{"version":2,"type":"ed25519"}',
    'another key type': '{"version":1,"type":"rsa"}',
    'a short secret key': JSON.stringify({ version: 1, type: 'ed25519', publicKey: 'ab'.repeat(32), secretKey: 'ab'.repeat(31) }),
    'no public key': JSON.stringify({ version: 1, type: 'ed25519', secretKey: 'ab'.repeat(32) }),
  };
  for (const [name, text] of Object.entries(broken)) {
    it(`refuse a file that is ${name}`, () => {
      expectError(() => decodeKeyFile(text, 'x.key'), KeyFileError, K.CORRUPT);
    });
  }
});

describe('passphrase-encrypted key files', () => {
  const passphrase = 'correct horse battery staple';
  let path: string;
  let pair: KeyPair;

  beforeAll(async () => {
    path = fresh();
    pair = generateKeyPair();
    await saveKeyFile(path, pair, { passphrase });
  });

  it('keep the secret key out of the file, the public key in it, with mode 0600', async () => {
    const text = await readFile(path, 'utf8');
    expect(text).not.toContain(hex(pair.secretKey));
    expect(text).toContain(hex(pair.publicKey));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('load back the same pair with the passphrase', async () => {
    same(await loadKeyFile(path, { passphrase }), pair);
  });

  it('give the public key without the passphrase', async () => {
    expect(hex(await readPublicKey(path))).toBe(hex(pair.publicKey));
  });

  it('require the passphrase', async () => {
    const error = await expectRejection(loadKeyFile(path), KeyFileError, K.PASSPHRASE_REQUIRED);
    expect(error.message).toContain('passphrase');
    await expectRejection(loadKeyFile(path, { passphrase: '' }), KeyFileError, K.PASSPHRASE_REQUIRED);
  });

  it('refuse a wrong passphrase', async () => {
    await expectRejection(loadKeyFile(path, { passphrase: 'Correct horse battery staple' }), KeyFileError, K.WRONG_PASSPHRASE);
  });

  it('detect a ciphertext altered on disk (authenticated encryption)', async () => {
    const json = JSON.parse(await readFile(path, 'utf8'));
    const c = json.cipher.ciphertext as string;
    json.cipher.ciphertext = (c[0] === '0' ? '1' : '0') + c.slice(1);
    expectError(() => decodeKeyFile(JSON.stringify(json), path, { passphrase }), KeyFileError, K.WRONG_PASSPHRASE);
  });

  it('bind the ciphertext to the public key stored beside it', async () => {
    const json = JSON.parse(await readFile(path, 'utf8'));
    json.publicKey = hex(generateKeyPair().publicKey);
    expectError(() => decodeKeyFile(JSON.stringify(json), path, { passphrase }), KeyFileError, K.WRONG_PASSPHRASE);
  });

  const damage: Record<string, (json: { kdf: Record<string, unknown>; cipher: Record<string, unknown> }) => void> = {
    'an unknown kdf': (j) => void (j.kdf.name = 'pbkdf2'),
    'an unknown cipher': (j) => void (j.cipher.name = 'aes-128-cbc'),
    'N not a power of two': (j) => void (j.kdf.N = 1000),
    'N asking for gigabytes': (j) => void (j.kdf.N = 2 ** 24),
    'r as a string': (j) => void (j.kdf.r = '8'),
    'a short salt': (j) => void (j.kdf.salt = 'abcd'),
    'a missing tag': (j) => void delete j.cipher.tag,
    'a truncated ciphertext': (j) => void (j.cipher.ciphertext = String(j.cipher.ciphertext).slice(2)),
  };
  for (const [name, spoil] of Object.entries(damage)) {
    it(`report ${name} as corruption, not as a wrong passphrase`, async () => {
      const json = JSON.parse(await readFile(path, 'utf8'));
      spoil(json);
      expectError(() => decodeKeyFile(JSON.stringify(json), path, { passphrase }), KeyFileError, K.CORRUPT);
    });
  }
});

describe('loadOrCreateKeyFile', () => {
  it('creates an identity on first run and loads the same one afterwards', async () => {
    const path = fresh();
    const first = await loadOrCreateKeyFile(path);
    expect(first.created).toBe(true);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const second = await loadOrCreateKeyFile(path);
    expect(second.created).toBe(false);
    same(second.pair, first.pair);
  });

  it('does not replace a file it cannot load', async () => {
    const path = fresh();
    await saveKeyFile(path, generateKeyPair(), { passphrase: 'p' });
    await expectRejection(loadOrCreateKeyFile(path, { passphrase: 'q' }), KeyFileError, K.WRONG_PASSPHRASE);
    await chmod(path, 0o640);
    await expectRejection(loadOrCreateKeyFile(path), KeyFileError, K.INSECURE_PERMISSIONS);
  });
});
