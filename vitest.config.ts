import { defineConfig } from 'vitest/config';

// Tests use real sockets and real processes, so files run in separate forks and each test
// gets a generous (but bounded) timeout. Speed is measured in bench/, never here.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Installs (or names) the programs the selected suites drive before any of them runs.
    globalSetup: ['test/setup/provision.ts'],
    // Every test file must close the fds it opened; the check runs last for each file and
    // relies on 'stack' hook order (vitest's default, pinned here): see the setup file.
    setupFiles: ['test/setup/fd-check.ts'],
    sequence: { hooks: 'stack' },
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
