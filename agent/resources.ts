import { cpus as osCpus } from 'node:os';
import systeminformation from 'systeminformation';
import { DcloudError } from '../protocol/errors.ts';
import type { Resources } from '../protocol/messages.ts';
import { type Capacity, capacityOf, type MachineSample } from './capacity.ts';

/**
 * Samples the machine's CPU load and available memory every `sampleMs` and answers, at any time,
 * what the agent may offer: averaged over the last `windowMs` (so one busy second does not make
 * the agent look full, nor one idle second empty) and never above the owner's caps.
 */

/** The part of systeminformation the monitor reads. */
export interface SystemInformation {
  currentLoad(): Promise<{ currentLoad: number; cpus: readonly unknown[] }>;
  mem(): Promise<{ total: number; available: number }>;
}

export interface ResourceMonitorComponents {
  si?: SystemInformation;
  /** ms; defaults to Date.now. */
  now?: () => number;
}

export interface ResourceMonitorOptions {
  /** Averaging window, ms. Default 3000. */
  windowMs?: number;
  /** Interval between samples, ms. Default 1000. */
  sampleMs?: number;
  /** The owner's limits on what dcloud may use. */
  caps?: Partial<Resources>;
}

export interface ResourceMonitor {
  /** Takes a first sample (so `current` answers right away), then samples in the background. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Total and free capacity as the owner allows it; `inUse` is what dcloud's own tasks hold. */
  current(inUse?: Resources): Capacity;
}

export class ResourceMonitorError extends DcloudError {
  constructor(code: ResourceMonitorErrorCode, message: string) {
    super(code, message, 400);
    this.name = 'ResourceMonitorError';
  }
}

export const ResourceMonitorErrorCodes = {
  INVALID_OPTIONS: 'RESOURCES_INVALID_OPTIONS',
  NOT_STARTED: 'RESOURCES_NOT_STARTED',
} as const;
export type ResourceMonitorErrorCode = (typeof ResourceMonitorErrorCodes)[keyof typeof ResourceMonitorErrorCodes];

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new ResourceMonitorError(ResourceMonitorErrorCodes.INVALID_OPTIONS, `${name} must be a positive number, got ${v}`);
  return v;
}

/**
 * CPU load from the kernel's counters as node:os reports them, differenced between calls.
 * systeminformation's currentLoad() spawns `cat /proc/stat | grep cpu` through a shell on every
 * call: once a second that alone cost an idle agent more than its 1 % CPU budget.
 */
export function osCpuLoad(): SystemInformation['currentLoad'] {
  const totals = () => osCpus().map(({ times }) => ({ idle: times.idle, all: times.user + times.nice + times.sys + times.idle + times.irq }));
  let previous = totals();
  return async () => {
    const current = totals();
    let idle = 0;
    let all = 0;
    current.forEach((c, i) => {
      const p = previous[i] ?? { idle: 0, all: 0 };
      idle += c.idle - p.idle;
      all += c.all - p.all;
    });
    previous = current;
    return { currentLoad: all > 0 ? (100 * (all - idle)) / all : 0, cpus: current };
  };
}

export function createResourceMonitor(components: ResourceMonitorComponents, options: ResourceMonitorOptions = {}): ResourceMonitor {
  const si: SystemInformation = components.si ?? { currentLoad: osCpuLoad(), mem: () => systeminformation.mem() };
  const now = components.now ?? Date.now;
  const windowMs = positive('windowMs', options.windowMs, 3_000);
  const sampleMs = positive('sampleMs', options.sampleMs, 1_000);
  const caps: Partial<Resources> = {
    ...(options.caps?.cpu === undefined ? {} : { cpu: positive('caps.cpu', options.caps.cpu, 0) }),
    ...(options.caps?.ramGb === undefined ? {} : { ramGb: positive('caps.ramGb', options.caps.ramGb, 0) }),
  };
  let samples: MachineSample[] = [];
  let timer: NodeJS.Timeout | undefined;
  let sampling: Promise<void> | undefined;

  async function sample(): Promise<void> {
    const [load, mem] = await Promise.all([si.currentLoad(), si.mem()]);
    const at = now();
    const cpus = load.cpus.length;
    samples.push({ at, cpus, cpuBusy: (cpus * load.currentLoad) / 100, memTotalBytes: mem.total, memAvailableBytes: mem.available });
    // Keep the window, and always the latest sample.
    samples = samples.filter((s, i) => s.at > at - windowMs || i === samples.length - 1);
  }

  function tick(): void {
    if (sampling !== undefined) return; // the previous sample is still being read
    sampling = sample()
      // A failed reading is skipped; the window still holds the previous ones.
      .catch(() => {})
      .finally(() => {
        sampling = undefined;
      });
  }

  return {
    async start() {
      if (timer !== undefined) return;
      await sample();
      timer = setInterval(tick, sampleMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await sampling;
    },
    current(inUse) {
      const capacity = capacityOf(samples, { now: now(), windowMs, caps, ...(inUse === undefined ? {} : { inUse }) });
      if (capacity === undefined) throw new ResourceMonitorError(ResourceMonitorErrorCodes.NOT_STARTED, 'the resource monitor has no sample yet: start it first');
      return capacity;
    },
  };
}
