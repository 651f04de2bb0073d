import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { createHubClient, type HubClient } from '../../../agent/hub-client.ts';
import type { RegistryAuth, TaskView } from '../../../hub/engine-types.ts';
import { createSigner, loadOrCreateKeyFile } from '../../../keys/index.ts';
import { seal } from '../../../protocol/envelope.ts';
import { DcloudError } from '../../../protocol/errors.ts';
import { isTerminal } from '../../../src/core/lifecycle.ts';
import { TASK_SPEC_DEFAULTS, taskSpec } from '../../../src/core/task-spec.ts';
import { type Cli, readStdin } from '../cli.ts';
import { nonNegativeNumber, positiveInteger, positiveNumber } from '../options.ts';
import { hubUrl } from './agent.ts';
import { defaultUserKeyFile } from './keys.ts';

export class SubmitUsageError extends DcloudError {
  constructor(message: string) {
    super('SUBMIT_USAGE', message, 400);
    this.name = 'SubmitUsageError';
  }
}

interface SubmitFlags {
  hub: string;
  image: string;
  cpu?: number;
  ram?: number;
  minTrust?: number;
  overlap?: number;
  timeout?: number;
  description?: string;
  registryUser?: string;
  registryPasswordStdin?: boolean;
  wait?: boolean;
  json?: boolean;
  key?: string;
}

/** How often to poll a task when the event stream is not available. */
const POLL_MS = 1_000;

/** `dcloud submit`: signs a task with the user's key, submits it, and optionally follows it to its end. */
export function register(program: Command, cli: Cli): void {
  program
    .command('submit')
    .description('sign and submit a task, optionally --wait for its result')
    .usage('--hub URL --image IMAGE [options] -- CMD [ARG...]')
    .requiredOption('--hub <url>', 'the hub to submit to', hubUrl)
    .requiredOption('--image <image>', 'Docker image to run')
    .option('--cpu <n>', `cores (default ${TASK_SPEC_DEFAULTS.cpu})`, positiveNumber)
    .option('--ram <gb>', `memory, GB (default ${TASK_SPEC_DEFAULTS.ramGb})`, positiveNumber)
    .option('--min-trust <t>', `trust an agent needs, 0-10 (default ${TASK_SPEC_DEFAULTS.minTrust})`, nonNegativeNumber)
    .option('--overlap <k>', `agents that must run it and agree (default ${TASK_SPEC_DEFAULTS.overlap})`, positiveInteger)
    .option('--timeout <s>', `seconds before a run is killed (default ${TASK_SPEC_DEFAULTS.timeoutS})`, positiveInteger)
    .option('--description <text>', 'a note for people')
    .option('--registry-user <user>', 'user name for a private registry (with --registry-password-stdin)')
    .option('--registry-password-stdin', 'read the private registry password from standard input')
    .option('--wait', 'follow the task until it is validated, invalid or abandoned; exit 0 only when validated')
    .option('--json', 'print the task as JSON on stdout (the final one with --wait); progress goes to stderr')
    .option('--key <file>', 'your key file (created on first use)', defaultUserKeyFile(cli.env))
    .argument('<command...>', 'the command to run in the container, after --')
    .action(async (command: string[], flags: SubmitFlags) => {
      if ((flags.registryUser === undefined) !== (flags.registryPasswordStdin !== true)) {
        throw new SubmitUsageError('--registry-user and --registry-password-stdin go together');
      }
      let registryAuth: RegistryAuth | undefined;
      if (flags.registryUser !== undefined) {
        const password = await readStdin(cli.stdin);
        if (password === '') throw new SubmitUsageError('standard input held no registry password');
        registryAuth = { username: flags.registryUser, password };
      }
      const keyFile = flags.key ?? defaultUserKeyFile(cli.env);
      const passphrase = cli.env.DCLOUD_KEY_PASSPHRASE;
      const { pair, created } = await loadOrCreateKeyFile(keyFile, passphrase === undefined ? {} : { passphrase });
      const signer = createSigner(pair);
      if (created) cli.stderr.write(`dcloud submit: created your identity ${signer.nodeId} in ${keyFile}\n`);

      const spec = taskSpec({
        image: flags.image,
        command,
        ...(flags.cpu === undefined ? {} : { cpu: flags.cpu }),
        ...(flags.ram === undefined ? {} : { ramGb: flags.ram }),
        ...(flags.minTrust === undefined ? {} : { minTrust: flags.minTrust }),
        ...(flags.overlap === undefined ? {} : { overlap: flags.overlap }),
        ...(flags.timeout === undefined ? {} : { timeoutS: flags.timeout }),
        ...(flags.description === undefined ? {} : { description: flags.description }),
        ...(registryAuth === undefined ? {} : { privateRegistry: true }),
      });
      const client = createHubClient(flags.hub);
      const { task } = await client.submitTask(seal('task.spec', spec, signer), registryAuth);
      if (flags.wait !== true) {
        cli.stdout.write(flags.json === true ? `${JSON.stringify(task, null, 2)}\n` : `${task.id}\n`);
        cli.exitCode = task.status === 'invalid' ? 1 : 0;
        return;
      }
      if (flags.json !== true) cli.stdout.write(`${task.id}\n`);
      const final = await follow(client, task, new Progress(cli.stderr));
      if (flags.json === true) cli.stdout.write(`${JSON.stringify(final, null, 2)}\n`);
      else printOutcome(cli.stdout, final);
      cli.exitCode = final.status === 'validated' ? 0 : 1;
    });
}

/** Follows a task over the hub's event stream until a terminal status; polls if the stream fails. */
async function follow(client: HubClient, submitted: TaskView, progress: Progress): Promise<TaskView> {
  let task = submitted;
  progress.show(task);
  if (isTerminal(task.status)) return progress.done(task);
  const stop = new AbortController();
  try {
    for await (const event of client.events({ task: task.id }, { signal: stop.signal })) {
      if (event.event === 'open') {
        // Subscribed: what happened before is in the task as it is now.
        task = await client.getTask(task.id);
      } else if (event.event === 'task') {
        const data = JSON.parse(event.data) as { task?: TaskView };
        if (data.task?.id !== task.id) continue;
        task = data.task;
      } else {
        continue;
      }
      progress.show(task);
      if (isTerminal(task.status)) return progress.done(task);
    }
    progress.note('the event stream ended; polling instead');
  } catch (err) {
    if (!(err instanceof DcloudError) && !(err instanceof SyntaxError)) throw err;
    progress.note(`no event stream (${err.message}); polling instead`);
  } finally {
    stop.abort();
  }
  for (;;) {
    task = await client.getTask(task.id);
    progress.show(task);
    if (isTerminal(task.status)) return progress.done(task);
    await sleep(POLL_MS);
  }
}

/** One progress line: rewritten in place on a terminal, a new line per change otherwise. */
class Progress {
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  private last = '';
  private readonly began = Date.now();

  constructor(stream: NodeJS.WritableStream) {
    this.stream = stream;
  }

  show(task: TaskView): void {
    const reported = task.assignments.filter((a) => a.round === task.round && (a.status === 'reported' || a.status === 'failed')).length;
    const line = `task ${task.id.slice(0, 12)}… ${task.status}, ${reported}/${task.spec.overlap} replicas reported${task.reason === undefined ? '' : ` (${task.reason})`}`;
    if (this.stream.isTTY === true) {
      this.stream.write(`\r\x1b[2K${line} ${Math.round((Date.now() - this.began) / 1000)}s`);
    } else if (line !== this.last) {
      this.stream.write(`${line}\n`);
    }
    this.last = line;
  }

  note(text: string): void {
    this.stream.write(`${this.stream.isTTY === true ? '\n' : ''}dcloud submit: ${text}\n`);
  }

  done(task: TaskView): TaskView {
    if (this.stream.isTTY === true) this.stream.write('\n');
    return task;
  }
}

/** The result for people: what the task printed, then how it ended. */
export function printOutcome(out: NodeJS.WritableStream, task: TaskView): void {
  if (task.result !== undefined) out.write(task.result.text.endsWith('\n') || task.result.text === '' ? task.result.text : `${task.result.text}\n`);
  const score = task.trustScore === undefined ? '' : ` (trust score ${task.trustScore})`;
  out.write(`${task.status}${score}${task.reason === undefined ? '' : `: ${task.reason}`}\n`);
}
