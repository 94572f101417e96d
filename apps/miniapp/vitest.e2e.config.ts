import { defineProject } from 'vitest/config';

// The end-to-end walk in headless Chromium (Debian's /usr/bin/chromium) against the running demo.
export default defineProject({
  test: {
    name: 'miniapp-e2e',
    environment: 'node',
    include: ['e2e/**/*.test.ts'],
    globalSetup: ['e2e/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
