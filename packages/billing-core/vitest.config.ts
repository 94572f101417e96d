import { defineProject } from 'vitest/config';

// billing-core on the embedded PGlite (TEST_DATABASE_URL cleared for this project); with it set,
// vitest.postgres.config.ts runs the same suite on PostgreSQL.
export default defineProject({
  test: {
    name: 'billing-core (pglite)',
    environment: 'node',
    include: ['test/**/*.test.ts'],
    env: { TEST_DATABASE_URL: '' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
