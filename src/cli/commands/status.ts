import type { Command } from 'commander';
import { createHubClient } from '../../../agent/hub-client.ts';
import type { TaskView } from '../../../hub/engine-types.ts';
import type { Cli } from '../cli.ts';
import { hubUrl } from './agent.ts';
import { printOutcome } from './submit.ts';

/** `dcloud status`: one task as the hub sees it. */
export function register(program: Command, cli: Cli): void {
  program
    .command('status')
    .description('show a task: status, history, assignments, result')
    .requiredOption('--hub <url>', 'the hub the task was submitted to', hubUrl)
    .option('--json', 'print the task as JSON')
    .argument('<id>', 'the task id dcloud submit printed')
    .action(async (id: string, flags: { hub: string; json?: boolean }) => {
      const task = await createHubClient(flags.hub).getTask(id);
      if (flags.json === true) cli.stdout.write(`${JSON.stringify(task, null, 2)}\n`);
      else describeTask(cli.stdout, task);
    });
}

function time(ms: number): string {
  return new Date(ms).toISOString();
}

export function describeTask(out: NodeJS.WritableStream, task: TaskView): void {
  const { spec } = task;
  out.write(
    `task      ${task.id}\n` +
      `status    ${task.status}${task.reason === undefined ? '' : ` (${task.reason})`}\n` +
      `image     ${spec.image}\n` +
      `command   ${JSON.stringify(spec.command)}\n` +
      `needs     ${spec.cpu} cpu, ${spec.ramGb} GB, trust >= ${spec.minTrust}, ${spec.overlap} agent(s), timeout ${spec.timeoutS} s\n` +
      `submitter ${task.submitter}\n` +
      `round     ${task.round}, staleness ${task.staleness}\n`,
  );
  out.write('history\n');
  for (const t of task.transitions) out.write(`  ${time(t.at)}  ${t.status}${t.reason === undefined ? '' : `  (${t.reason})`}\n`);
  if (task.assignments.length > 0) out.write('assignments\n');
  for (const a of task.assignments) {
    out.write(`  round ${a.round}  agent ${a.agentId}  ${a.status}${a.reason === undefined ? '' : `  (${a.reason})`}\n`);
  }
  out.write('result\n');
  printOutcome(out, task);
}
