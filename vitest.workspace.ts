// The test projects: every package and app with its own vitest config (name, environment, setup).
// vitest.config.ts feeds this list to the runner as `test.projects`, so this file is what runs.
export default ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts'];
