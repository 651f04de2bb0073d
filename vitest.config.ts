import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real processes, containers and registries; two cores cannot run many at once.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
