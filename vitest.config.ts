import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real processes, containers and registries; two cores cannot run many at once.
    maxWorkers: 2,
    // .ci/run reads the JSON report to print the plain `N passed, N failed` line CI understands.
    reporters: ['default', ['json', { outputFile: 'test-output/vitest.json' }]],
  },
});
