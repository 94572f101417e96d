import { defineProject } from 'vitest/config';

// The end-to-end walk in headless Chromium against the running demo; the global setup finds or provides
// the browser (CHROMIUM_PATH, Debian's /usr/bin/chromium, else it installs one: see e2e/chromium.ts).
export default defineProject({
  test: {
    name: 'miniapp-e2e',
    environment: 'node',
    include: ['e2e/**/*.test.ts'],
    globalSetup: ['e2e/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // What the walk waits for goes through the server and the Stripe emulator (a plan change, then the
    // page's re-read): on a loaded CI machine that once took longer than expect.poll's 1 s default.
    expect: { poll: { timeout: 10_000 } },
  },
});
