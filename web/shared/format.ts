import type { TaskStatus } from './types.ts';

export function time(ms: number | undefined): string {
  if (ms === undefined) return '—';
  const d = new Date(ms);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

export function ago(ms: number | undefined, now = Date.now()): string {
  if (ms === undefined) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

export function resources(r: { cpu: number; ramGb: number } | undefined): string {
  if (r === undefined) return '—';
  return `${round(r.cpu)} CPU · ${round(r.ramGb)} GB`;
}

export function round(n: number, digits = 2): string {
  return String(Math.round(n * 10 ** digits) / 10 ** digits);
}

export function short(id: string | undefined): string {
  return id === undefined ? '—' : id.slice(0, 12);
}

/** Statuses in the order a task goes through them; the charts and tables use it. */
export const STATUS_ORDER: TaskStatus[] = ['validating', 'pending', 'in_queue', 'in_progress', 'completed', 'validated', 'failed', 'invalid', 'abandoned'];

export const STATUS_COLORS: Record<TaskStatus, string> = {
  validating: '#8a63d2',
  pending: '#b08800',
  in_queue: '#d97706',
  in_progress: '#2563eb',
  completed: '#0891b2',
  validated: '#15803d',
  failed: '#b91c1c',
  invalid: '#6b7280',
  abandoned: '#7c2d12',
};

const FINAL: ReadonlySet<TaskStatus> = new Set(['validated', 'failed', 'invalid', 'abandoned']);

export function isFinal(status: TaskStatus): boolean {
  return FINAL.has(status);
}

/** A task not yet decided that carries a reason: the hub says why it is not running (yet). */
export function isWaiting(task: { status: TaskStatus; reason?: string }): boolean {
  return !FINAL.has(task.status) && task.reason !== undefined;
}
