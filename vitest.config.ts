import { defineConfig } from 'vitest/config';

// Tests use real sockets and real processes, so files run in separate forks and each test
// gets a generous (but bounded) timeout. Speed is measured in bench/, never here.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
