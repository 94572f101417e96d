import { defineProject } from 'vitest/config';

// The same suite on the PostgreSQL server in TEST_DATABASE_URL (listed by vitest.workspace.ts when set).
export default defineProject({
  test: {
    name: 'billing-core (postgres)',
    environment: 'node',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
