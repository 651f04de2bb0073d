import { TaskSpecBody } from '../../protocol/messages.ts';
import { TASK_SPEC_DEFAULTS } from '../../src/core/task-spec.ts';

/**
 * The task form's checks, made before anything is sent: the same limits the signed spec's schema
 * enforces (protocol/messages.ts), said per field in words a person can act on.
 */

export type FieldName = 'image' | 'command' | 'cpu' | 'ramGb' | 'minTrust' | 'overlap' | 'timeoutS' | 'registryUser' | 'registryPassword';
export type TaskForm = Record<FieldName, string>;

/** What POST /api/tasks takes. */
export interface TaskRequest {
  image: string;
  command: string[];
  cpu: number;
  ramGb: number;
  minTrust: number;
  overlap: number;
  timeoutS: number;
  registryAuth?: { username: string; password: string };
}

const P = TaskSpecBody.properties;

export const FORM_DEFAULTS: TaskForm = {
  image: '',
  command: '',
  cpu: String(TASK_SPEC_DEFAULTS.cpu),
  ramGb: String(TASK_SPEC_DEFAULTS.ramGb),
  minTrust: String(TASK_SPEC_DEFAULTS.minTrust),
  overlap: String(TASK_SPEC_DEFAULTS.overlap),
  timeoutS: String(TASK_SPEC_DEFAULTS.timeoutS),
  registryUser: '',
  registryPassword: '',
};

/** Splits a command line into words as a shell would for quotes and backslashes (nothing else is expanded). */
export function splitCommand(line: string): string[] | { error: string } {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) word += line[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined) return { error: `a ${quote === '"' ? 'double' : 'single'} quote is not closed` };
  if (inWord) words.push(word);
  return words;
}

function number(value: string, label: string, rule: { min: number; exclusiveMin?: boolean; max: number; integer?: boolean; unit?: string }): number | string {
  const text = value.trim();
  if (text === '') return `${label} is required`;
  const n = Number(text);
  if (!Number.isFinite(n)) return `${label} must be a number`;
  if (rule.integer && !Number.isInteger(n)) return `${label} must be a whole number`;
  const unit = rule.unit === undefined ? '' : ` ${rule.unit}`;
  if (rule.exclusiveMin ? n <= rule.min : n < rule.min) return `${label} must be ${rule.exclusiveMin ? 'more than' : 'at least'} ${rule.min}${unit}`;
  if (n > rule.max) return `${label} must be at most ${rule.max}${unit}`;
  return n;
}

export function validateTask(form: TaskForm): { request?: TaskRequest; errors: Partial<Record<FieldName, string>> } {
  const errors: Partial<Record<FieldName, string>> = {};
  const image = form.image.trim();
  if (image === '') errors.image = 'Image is required, e.g. 127.0.0.1:5000/dcloud/busybox:1';
  else if (/\s/.test(image)) errors.image = 'An image name has no spaces';
  else if (image.length > (P.image.maxLength ?? 512)) errors.image = `Image is at most ${P.image.maxLength} characters`;

  const words = splitCommand(form.command);
  let command: string[] = [];
  if (!Array.isArray(words)) errors.command = `Command: ${words.error}`;
  else if (words.length === 0) errors.command = 'Command is required, e.g. echo 42';
  else if (words.length > (P.command.maxItems ?? 256)) errors.command = `Command has at most ${P.command.maxItems} words`;
  else if (words.some((w) => w.length > (P.command.items.maxLength ?? 4096))) errors.command = `Each word of the command is at most ${P.command.items.maxLength} characters`;
  else command = words;

  const numbers = {
    cpu: number(form.cpu, 'CPU', { min: P.cpu.exclusiveMinimum ?? 0, exclusiveMin: true, max: P.cpu.maximum ?? 1024, unit: 'cores' }),
    ramGb: number(form.ramGb, 'RAM', { min: P.ramGb.exclusiveMinimum ?? 0, exclusiveMin: true, max: P.ramGb.maximum ?? 65536, unit: 'GB' }),
    minTrust: number(form.minTrust, 'Minimum trust', { min: P.minTrust.minimum ?? 0, max: P.minTrust.maximum ?? 10 }),
    overlap: number(form.overlap, 'Overlap', { min: P.overlap.minimum ?? 1, max: P.overlap.maximum ?? 64, integer: true, unit: 'agents' }),
    timeoutS: number(form.timeoutS, 'Timeout', { min: P.timeoutS.minimum ?? 1, max: P.timeoutS.maximum ?? 86_400, integer: true, unit: 's' }),
  };
  for (const [field, value] of Object.entries(numbers)) if (typeof value === 'string') errors[field as FieldName] = value;

  const user = form.registryUser.trim();
  const password = form.registryPassword;
  if (user !== '' && password === '') errors.registryPassword = 'A registry user needs its password';
  if (user === '' && password !== '') errors.registryUser = 'A registry password needs its user';
  if (user.length > 256) errors.registryUser = 'Registry user is at most 256 characters';
  if (password.length > 4096) errors.registryPassword = 'Registry password is at most 4096 characters';

  if (Object.keys(errors).length > 0) return { errors };
  const request: TaskRequest = {
    image,
    command,
    cpu: numbers.cpu as number,
    ramGb: numbers.ramGb as number,
    minTrust: numbers.minTrust as number,
    overlap: numbers.overlap as number,
    timeoutS: numbers.timeoutS as number,
  };
  if (user !== '') request.registryAuth = { username: user, password };
  return { request, errors };
}
