import { defineProject } from 'vitest/config';

// The API over real HTTP: PostgreSQL when TEST_DATABASE_URL is set, PGlite otherwise.
export default defineProject({
  test: {
    name: 'api',
    environment: 'node',
    include: ['test/**/*.test.ts'],
    // Restarting connections, exhausting a pool and several processes on one database need a
    // PostgreSQL server (CI sets TEST_DATABASE_URL).
    exclude: process.env.TEST_DATABASE_URL
      ? []
      : ['test/reliability/database-faults.test.ts', 'test/multi-process.test.ts', 'test/event-queue-recovery.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
