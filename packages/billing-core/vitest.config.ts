import { defineProject } from 'vitest/config';

// billing-core on the embedded PGlite; vitest.postgres.config.ts runs the same suite on PostgreSQL.
export default defineProject({
  test: {
    name: 'billing-core (pglite)',
    environment: 'node',
    include: ['test/**/*.test.ts'],
    env: { BILLING_TEST_DB: 'pglite' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
