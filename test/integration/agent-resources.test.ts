// The resource monitor on this machine's real readings (systeminformation, /proc): the numbers
// must be the machine's, and the owner's caps must hold.
import { cpus, totalmem } from 'node:os';
import { describe, expect, it } from 'vitest';
import { createResourceMonitor } from '../../agent/resources.ts';

const GiB = 1024 ** 3;

describe('resource monitor on the real machine', () => {
  it("reports this machine's CPUs and memory, with free amounts within them", async () => {
    const monitor = createResourceMonitor({}, { sampleMs: 100 });
    await monitor.start();
    try {
      const { total, free } = monitor.current();
      expect(total.cpu).toBe(cpus().length);
      expect(total.ramGb).toBeCloseTo(totalmem() / GiB, 1);
      expect(free.cpu).toBeGreaterThanOrEqual(0);
      expect(free.cpu).toBeLessThanOrEqual(total.cpu);
      // Something is always free on a machine that is running this test, and never all of it.
      expect(free.ramGb).toBeGreaterThan(0);
      expect(free.ramGb).toBeLessThan(total.ramGb);
    } finally {
      await monitor.stop();
    }
  });

  it("holds the owner's caps", async () => {
    const monitor = createResourceMonitor({}, { caps: { cpu: 0.5, ramGb: 0.25 } });
    await monitor.start();
    try {
      const { total, free } = monitor.current();
      expect(total).toEqual({ cpu: 0.5, ramGb: 0.25 });
      expect(free.cpu).toBeLessThanOrEqual(0.5);
      expect(free.ramGb).toBeLessThanOrEqual(0.25);
    } finally {
      await monitor.stop();
    }
  });
});
