import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', ['json', { outputFile: 'test-artifacts/vitest.json' }]],
    // One Dawn instance per worker process; GPU tests are heavy on 2 cores.
    pool: 'forks',
    maxWorkers: 2,
    // Runs use one worker thread unless a test asks for more (test/exec runs 1, 2, 3 and 7):
    // starting worker pools in every pipeline test would only slow the suite on 2 cores.
    env: { TOKENMIX_WORKERS: '1' },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
