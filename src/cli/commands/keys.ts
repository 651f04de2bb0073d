import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DcloudError } from '../../../protocol/errors.ts';
import { generateKeyPair, nodeIdOf, readPublicKey, saveKeyFile } from '../../../keys/index.ts';
import { type Cli, readStdin } from '../cli.ts';

/** Where a user's own identity lives unless --file says otherwise: $XDG_CONFIG_HOME/dcloud/user.key. */
export function defaultUserKeyFile(env: NodeJS.ProcessEnv): string {
  const configHome = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), '.config');
  return join(configHome, 'dcloud', 'user.key');
}

function describe(cli: Cli, file: string, publicKey: Uint8Array): void {
  cli.stdout.write(`file        ${file}\nnode id     ${nodeIdOf(publicKey)}\npublic key  ${Buffer.from(publicKey).toString('hex')}\n`);
}

/** `dcloud keys new` and `dcloud keys show`: the Ed25519 identity a user signs with. */
export function register(program: Command, cli: Cli): void {
  const keys = program.command('keys').description('create or show an Ed25519 identity (submitters, agents)');
  const defaultFile = defaultUserKeyFile(cli.env);

  keys
    .command('new')
    .description('create a new key file (mode 0600); never overwrites one')
    .option('--file <path>', 'key file', defaultFile)
    .option('--passphrase-stdin', 'encrypt the key with a passphrase read from standard input (or set DCLOUD_KEY_PASSPHRASE)')
    .action(async (options: { file: string; passphraseStdin?: boolean }) => {
      const passphrase = options.passphraseStdin === true ? await readStdin(cli.stdin) : cli.env.DCLOUD_KEY_PASSPHRASE;
      if (options.passphraseStdin === true && passphrase === '') {
        throw new DcloudError('PASSPHRASE_EMPTY', 'standard input held no passphrase; refusing to write an unencrypted key when one was asked for');
      }
      const pair = generateKeyPair();
      await saveKeyFile(options.file, pair, passphrase === undefined ? {} : { passphrase });
      describe(cli, options.file, pair.publicKey);
    });

  keys
    .command('show')
    .description('print the node id and public key of a key file (needs no passphrase)')
    .option('--file <path>', 'key file', defaultFile)
    .action(async (options: { file: string }) => {
      describe(cli, options.file, await readPublicKey(options.file));
    });
}
