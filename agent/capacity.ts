import type { Resources } from '../protocol/messages.ts';

/**
 * What an agent offers, from what its machine measured: pure, so the averaging and the owner's
 * caps are tested on made-up samples and the sampling loop (agent/resources.ts) stays dumb.
 */

/** One reading of the machine. */
export interface MachineSample {
  /** ms, on the same clock as `now` below. */
  at: number;
  /** Logical CPUs. */
  cpus: number;
  /** CPUs' worth of work the machine was doing, 0..cpus (load 50% on 4 CPUs = 2). */
  cpuBusy: number;
  memTotalBytes: number;
  /** Memory the kernel could hand out without swapping (Linux MemAvailable). */
  memAvailableBytes: number;
}

export interface Capacity {
  total: Resources;
  free: Resources;
}

export interface CapacityOptions {
  now: number;
  /** Samples older than this are ignored, unless there is no newer one. */
  windowMs: number;
  /** The owner's limits on what dcloud may use of the machine. */
  caps?: Partial<Resources>;
  /** What dcloud's own running tasks already hold; it counts against the caps. */
  inUse?: Resources;
}

/** The protocol counts RAM in GB; read as GiB, as the executor's memory limit does. */
const BYTES_PER_GB = 1024 ** 3;

/** Down to two decimals: never offer a hundredth more than measured. */
function floor2(value: number): number {
  return Math.floor(value * 100 + 1e-9) / 100;
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Averages the samples of the last `windowMs` (the latest alone when none is that recent), then
 * limits the machine to the owner's caps: total = min(machine, cap); free = min(machine's free,
 * cap - inUse), never below zero. Returns undefined when there is no sample at all.
 */
export function capacityOf(samples: readonly MachineSample[], options: CapacityOptions): Capacity | undefined {
  const latest = samples.reduce<MachineSample | undefined>((a, s) => (a === undefined || s.at > a.at ? s : a), undefined);
  if (latest === undefined) return undefined;
  const recent = samples.filter((s) => s.at > options.now - options.windowMs && s.at <= options.now);
  const window = recent.length > 0 ? recent : [latest];

  const machineCpu = latest.cpus;
  const machineRam = latest.memTotalBytes / BYTES_PER_GB;
  const machineFreeCpu = Math.max(0, mean(window.map((s) => s.cpus - s.cpuBusy)));
  const machineFreeRam = Math.max(0, mean(window.map((s) => s.memAvailableBytes)) / BYTES_PER_GB);

  const capCpu = Math.min(machineCpu, options.caps?.cpu ?? Infinity);
  const capRam = Math.min(machineRam, options.caps?.ramGb ?? Infinity);
  const inUse = options.inUse ?? { cpu: 0, ramGb: 0 };
  return {
    total: { cpu: floor2(capCpu), ramGb: floor2(capRam) },
    free: {
      cpu: floor2(Math.max(0, Math.min(machineFreeCpu, capCpu - inUse.cpu))),
      ramGb: floor2(Math.max(0, Math.min(machineFreeRam, capRam - inUse.ramGb))),
    },
  };
}
