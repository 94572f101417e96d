// The test projects: every package and app with its own vitest config (name, environment, setup).
// vitest.config.ts feeds this list to the runner as `test.projects`, so this file is what runs.
// With TEST_DATABASE_URL set (CI), the database suites also run a second time on PostgreSQL.
export default [
  'packages/*/vitest.config.ts',
  'apps/*/vitest.config.ts',
  'apps/*/vitest.e2e.config.ts',
  ...(process.env.TEST_DATABASE_URL ? ['packages/*/vitest.postgres.config.ts'] : []),
];
