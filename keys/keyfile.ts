import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KeyFileError, KeyFileErrorCodes } from '../protocol/errors.ts';
import { type KeyPair, generateKeyPair, publicKeyFromSecret } from './keypair.ts';

/**
 * Key file format (JSON, mode 0600):
 *   plain:     { version: 1, type: "ed25519", publicKey: hex, secretKey: hex }
 *   encrypted: { version: 1, type: "ed25519", publicKey: hex,
 *                kdf: { name: "scrypt", N, r, p, salt: hex },
 *                cipher: { name: "aes-256-gcm", iv: hex, tag: hex, ciphertext: hex } }
 * The public key is stored in clear in both, so `dcloud keys show` needs no passphrase.
 */
interface KeyFileJson {
  version: 1;
  type: 'ed25519';
  publicKey: string;
  secretKey?: string;
  kdf?: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  cipher?: { name: 'aes-256-gcm'; iv: string; tag: string; ciphertext: string };
}

const SCRYPT = { N: 1 << 15, r: 8, p: 1 } as const;
const SCRYPT_MAXMEM = 128 * 1024 * 1024;

export interface KeyFileOptions {
  passphrase?: string;
}

function deriveKey(passphrase: string, salt: Buffer, params: { N: number; r: number; p: number }): Buffer {
  return scryptSync(passphrase, salt, 32, { ...params, maxmem: SCRYPT_MAXMEM });
}

export function encodeKeyFile(pair: KeyPair, options: KeyFileOptions = {}): string {
  const publicKey = Buffer.from(pair.publicKey).toString('hex');
  let json: KeyFileJson;
  if (options.passphrase !== undefined && options.passphrase !== '') {
    const salt = randomBytes(16);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', deriveKey(options.passphrase, salt, SCRYPT), iv);
    cipher.setAAD(Buffer.from(publicKey));
    const ciphertext = Buffer.concat([cipher.update(pair.secretKey), cipher.final()]);
    json = {
      version: 1,
      type: 'ed25519',
      publicKey,
      kdf: { name: 'scrypt', ...SCRYPT, salt: salt.toString('hex') },
      cipher: { name: 'aes-256-gcm', iv: iv.toString('hex'), tag: cipher.getAuthTag().toString('hex'), ciphertext: ciphertext.toString('hex') },
    };
  } else {
    json = { version: 1, type: 'ed25519', publicKey, secretKey: Buffer.from(pair.secretKey).toString('hex') };
  }
  return `${JSON.stringify(json, null, 2)}\n`;
}

const HEX32 = /^[0-9a-f]{64}$/;
const hexOf = (bytes: number) => new RegExp(`^[0-9a-f]{${bytes * 2}}$`);
const HEX16 = hexOf(16);
const HEX12 = hexOf(12);

/**
 * Checks the encryption parameters before spending a key derivation on them: a damaged file is
 * reported as corrupt, not as a wrong passphrase, and cannot ask for gigabytes of scrypt memory.
 */
function encryptionProblem(kdf: NonNullable<KeyFileJson['kdf']>, cipher: NonNullable<KeyFileJson['cipher']>): string | undefined {
  const { N, r, p } = kdf;
  if (!Number.isInteger(N) || N < 2 || N > 2 ** 30 || (N & (N - 1)) !== 0) return 'kdf.N must be a power of two';
  if (!Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) return 'kdf.r or kdf.p out of range';
  if (128 * N * r > SCRYPT_MAXMEM / 2) return 'kdf parameters need too much memory';
  if (typeof kdf.salt !== 'string' || !HEX16.test(kdf.salt)) return 'kdf.salt is not 16 bytes of hex';
  if (typeof cipher.iv !== 'string' || !HEX12.test(cipher.iv)) return 'cipher.iv is not 12 bytes of hex';
  if (typeof cipher.tag !== 'string' || !HEX16.test(cipher.tag)) return 'cipher.tag is not 16 bytes of hex';
  if (typeof cipher.ciphertext !== 'string' || !HEX32.test(cipher.ciphertext)) return 'cipher.ciphertext is not 32 bytes of hex';
  return undefined;
}

function corrupt(path: string, why: string): KeyFileError {
  return new KeyFileError(KeyFileErrorCodes.CORRUPT, `key file ${path} is corrupt: ${why}`);
}

export function decodeKeyFile(text: string, path: string, options: KeyFileOptions = {}): KeyPair {
  let json: KeyFileJson;
  try {
    json = JSON.parse(text) as KeyFileJson;
  } catch {
    throw corrupt(path, 'not valid JSON (truncated or overwritten?)');
  }
  if (json === null || typeof json !== 'object' || json.version !== 1 || json.type !== 'ed25519') {
    throw corrupt(path, 'not a dcloud ed25519 key file (version 1)');
  }
  if (typeof json.publicKey !== 'string' || !HEX32.test(json.publicKey)) throw corrupt(path, 'publicKey is not 32 bytes of hex');
  let secret: Buffer;
  if (json.cipher !== undefined) {
    const { kdf, cipher } = json;
    if (kdf?.name !== 'scrypt' || cipher?.name !== 'aes-256-gcm') throw corrupt(path, 'unknown kdf or cipher');
    const why = encryptionProblem(kdf, cipher);
    if (why !== undefined) throw corrupt(path, why);
    if (options.passphrase === undefined || options.passphrase === '') {
      throw new KeyFileError(KeyFileErrorCodes.PASSPHRASE_REQUIRED, `key file ${path} is encrypted: give its passphrase (--passphrase-stdin or DCLOUD_KEY_PASSPHRASE)`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', deriveKey(options.passphrase, Buffer.from(kdf.salt, 'hex'), kdf), Buffer.from(cipher.iv, 'hex'));
      decipher.setAAD(Buffer.from(json.publicKey));
      decipher.setAuthTag(Buffer.from(cipher.tag, 'hex'));
      secret = Buffer.concat([decipher.update(Buffer.from(cipher.ciphertext, 'hex')), decipher.final()]);
    } catch (err) {
      throw new KeyFileError(KeyFileErrorCodes.WRONG_PASSPHRASE, `wrong passphrase for key file ${path} (or the file was altered)`, { cause: err });
    }
  } else {
    if (typeof json.secretKey !== 'string' || !HEX32.test(json.secretKey)) throw corrupt(path, 'secretKey is not 32 bytes of hex');
    secret = Buffer.from(json.secretKey, 'hex');
  }
  const secretKey = new Uint8Array(secret);
  const publicKey = publicKeyFromSecret(secretKey);
  if (Buffer.from(publicKey).toString('hex') !== json.publicKey) throw corrupt(path, 'the public key does not match the secret key');
  return { secretKey, publicKey };
}

/** Writes a new key file with mode 0600, creating its folder (0700). Never overwrites one. */
export async function saveKeyFile(path: string, pair: KeyPair, options: KeyFileOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyFileError(KeyFileErrorCodes.EXISTS, `key file ${path} already exists; refusing to overwrite an identity`);
    }
    throw err;
  }
  try {
    await handle.writeFile(encodeKeyFile(pair, options));
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads the public key only: needs no passphrase and accepts no insecure file either. */
export async function readPublicKey(path: string): Promise<Uint8Array> {
  const text = await readSecureFile(path);
  try {
    const json = JSON.parse(text) as KeyFileJson;
    if (typeof json.publicKey === 'string' && HEX32.test(json.publicKey)) return new Uint8Array(Buffer.from(json.publicKey, 'hex'));
  } catch {
    // reported below
  }
  throw corrupt(path, 'no valid publicKey');
}

async function readSecureFile(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KeyFileError(KeyFileErrorCodes.NOT_FOUND, `no key file at ${path} (create one with: dcloud keys new --file ${path})`);
    }
    throw err;
  }
  try {
    // The mode of the file we opened, not of whatever the path names a moment later.
    const info = await handle.stat();
    if ((info.mode & 0o077) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(3, '0');
      throw new KeyFileError(
        KeyFileErrorCodes.INSECURE_PERMISSIONS,
        `key file ${path} has mode ${mode}: other users can read it. Fix with: chmod 600 ${path}`,
      );
    }
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

export async function loadKeyFile(path: string, options: KeyFileOptions = {}): Promise<KeyPair> {
  return decodeKeyFile(await readSecureFile(path), path, options);
}

/** The identity a program runs as: loaded if the file exists, generated and saved on first run. */
export async function loadOrCreateKeyFile(path: string, options: KeyFileOptions = {}): Promise<{ pair: KeyPair; created: boolean }> {
  try {
    return { pair: await loadKeyFile(path, options), created: false };
  } catch (err) {
    if (!(err instanceof KeyFileError) || err.code !== KeyFileErrorCodes.NOT_FOUND) throw err;
  }
  const pair = generateKeyPair();
  try {
    await saveKeyFile(path, pair, options);
  } catch (err) {
    // Another process created it between our read and our write: use theirs.
    if (err instanceof KeyFileError && err.code === KeyFileErrorCodes.EXISTS) return { pair: await loadKeyFile(path, options), created: false };
    throw err;
  }
  return { pair, created: true };
}
