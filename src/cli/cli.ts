/** What a command may touch of the outside world: passed in, so tests can run commands in-process. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
}

/** Usage errors (unknown option, missing argument) and invalid configuration exit with this. */
export const EXIT_USAGE = 2;

/** A command's action sets `exitCode`; main returns it once the command has finished. */
export interface Cli extends CliIo {
  exitCode: number;
}

/** Reads standard input to its end (a passphrase piped in), without the final line break. */
export async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Resolves on the first SIGINT or SIGTERM (Ctrl-C, `kill`): long-running commands then stop cleanly. */
export function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
