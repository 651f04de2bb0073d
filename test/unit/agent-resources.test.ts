import { describe, expect, it, vi } from 'vitest';
import { capacityOf, type MachineSample } from '../../agent/capacity.ts';
import { createResourceMonitor, ResourceMonitorError, type SystemInformation } from '../../agent/resources.ts';

const GiB = 1024 ** 3;

function sample(at: number, cpuBusy: number, availableGb: number, overrides: Partial<MachineSample> = {}): MachineSample {
  return { at, cpus: 4, cpuBusy, memTotalBytes: 16 * GiB, memAvailableBytes: availableGb * GiB, ...overrides };
}

describe('capacityOf', () => {
  it('averages the free CPU and memory of the samples inside the window', () => {
    const samples = [sample(1_000, 4, 1), sample(8_000, 1, 10), sample(9_000, 3, 6), sample(10_000, 2, 8)];
    // The window (7 s, 10 s] holds the last three: free CPU 3, 1, 2 -> 2; free RAM 10, 6, 8 -> 8.
    expect(capacityOf(samples, { now: 10_000, windowMs: 3_000 })).toEqual({ total: { cpu: 4, ramGb: 16 }, free: { cpu: 2, ramGb: 8 } });
  });

  it('falls back to the latest sample when none is recent', () => {
    const samples = [sample(1_000, 1, 12), sample(2_000, 3, 4)];
    expect(capacityOf(samples, { now: 60_000, windowMs: 3_000 })?.free).toEqual({ cpu: 1, ramGb: 4 });
  });

  it('has no answer without samples', () => {
    expect(capacityOf([], { now: 0, windowMs: 3_000 })).toBeUndefined();
  });

  it("never reports more than the owner's caps", () => {
    const idle = [sample(1_000, 0, 15)];
    expect(capacityOf(idle, { now: 1_000, windowMs: 3_000, caps: { cpu: 1.5, ramGb: 2 } })).toEqual({
      total: { cpu: 1.5, ramGb: 2 },
      free: { cpu: 1.5, ramGb: 2 },
    });
  });

  it('ignores caps above what the machine has', () => {
    const idle = [sample(1_000, 0, 15)];
    expect(capacityOf(idle, { now: 1_000, windowMs: 3_000, caps: { cpu: 64, ramGb: 512 } })?.total).toEqual({ cpu: 4, ramGb: 16 });
  });

  it("counts dcloud's running tasks against the caps, and never goes below zero", () => {
    const idle = [sample(1_000, 0, 15)];
    const caps = { cpu: 2, ramGb: 4 };
    expect(capacityOf(idle, { now: 1_000, windowMs: 3_000, caps, inUse: { cpu: 1.5, ramGb: 1 } })?.free).toEqual({ cpu: 0.5, ramGb: 3 });
    expect(capacityOf(idle, { now: 1_000, windowMs: 3_000, caps, inUse: { cpu: 3, ramGb: 5 } })?.free).toEqual({ cpu: 0, ramGb: 0 });
  });

  it("lets a busy machine offer less than the caps", () => {
    const busy = [sample(1_000, 3.5, 0.5)];
    expect(capacityOf(busy, { now: 1_000, windowMs: 3_000, caps: { cpu: 2, ramGb: 4 } })?.free).toEqual({ cpu: 0.5, ramGb: 0.5 });
  });

  it('rounds down to hundredths, never up', () => {
    const odd = [sample(1_000, 4 - 1.239, 1.999, { memTotalBytes: 7.777 * GiB })];
    expect(capacityOf(odd, { now: 1_000, windowMs: 3_000 })).toEqual({ total: { cpu: 4, ramGb: 7.77 }, free: { cpu: 1.23, ramGb: 1.99 } });
  });
});

/** A machine whose readings the test sets, and a clock the test moves. */
function fakeMachine() {
  const state = { load: 0, availableGb: 8, clock: 0, calls: 0, fail: false };
  const si: SystemInformation = {
    async currentLoad() {
      state.calls++;
      if (state.fail) throw new Error('cannot read /proc/stat');
      return { currentLoad: state.load, cpus: [{}, {}] };
    },
    async mem() {
      return { total: 16 * GiB, available: state.availableGb * GiB };
    },
  };
  return { state, si, now: () => state.clock };
}

describe('createResourceMonitor', () => {
  it('answers from its first sample as soon as it has started', async () => {
    const machine = fakeMachine();
    machine.state.load = 25;
    const monitor = createResourceMonitor({ si: machine.si, now: machine.now }, { caps: { ramGb: 4 }, sampleMs: 60_000 });
    expect(() => monitor.current()).toThrow(ResourceMonitorError);
    await monitor.start();
    try {
      expect(monitor.current()).toEqual({ total: { cpu: 2, ramGb: 4 }, free: { cpu: 1.5, ramGb: 4 } });
      expect(monitor.current({ cpu: 1, ramGb: 3 }).free).toEqual({ cpu: 1, ramGb: 1 });
    } finally {
      await monitor.stop();
    }
  });

  it('keeps sampling in the background, averaging over the window, and survives a failed reading', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const machine = fakeMachine();
    const monitor = createResourceMonitor({ si: machine.si, now: machine.now }, { windowMs: 3_000, sampleMs: 1_000 });
    /** One more tick of the sampling interval at `clock`, and its sample landed. */
    const tickAt = async (clock: number): Promise<void> => {
      machine.state.clock = clock;
      await vi.advanceTimersByTimeAsync(1_000);
      await new Promise((resolve) => setImmediate(resolve));
    };
    try {
      await monitor.start(); // t=0, idle: 2 free
      machine.state.load = 100; // both CPUs busy from now on
      await tickAt(1_000);
      expect(machine.state.calls).toBe(2);
      expect(monitor.current().free.cpu).toBe(1); // (2 + 0) / 2

      machine.state.fail = true;
      await tickAt(2_000);
      expect(machine.state.calls).toBe(3);
      expect(monitor.current().free.cpu).toBe(1); // the failed reading added nothing

      machine.state.fail = false;
      await tickAt(10_000);
      // t=0 and t=1000 have left the window (7 s, 10 s]; only the busy reading remains.
      expect(monitor.current().free.cpu).toBe(0);
    } finally {
      await monitor.stop();
      vi.useRealTimers();
    }
  });

  it('refuses caps and intervals that are not positive numbers', () => {
    expect(() => createResourceMonitor({}, { caps: { cpu: 0 } })).toThrow(/caps.cpu/);
    expect(() => createResourceMonitor({}, { caps: { ramGb: Number.NaN } })).toThrow(/caps.ramGb/);
    expect(() => createResourceMonitor({}, { windowMs: -1 })).toThrow(ResourceMonitorError);
  });
});
