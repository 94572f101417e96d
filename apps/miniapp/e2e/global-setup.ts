import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { type ChromiumChoice, ensureChromium } from './chromium.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    chromium: ChromiumChoice;
  }
}

/**
 * Once for every browser test file: find (or provide) a Chromium, and build the Mini App exactly as
 * `pnpm start` would. A failure here is reported once, by the runner, and no browser test starts.
 */
export default async function setup(project: TestProject): Promise<void> {
  const chromium = await ensureChromium();
  if (chromium.provided) console.log(chromium.provided);
  project.provide('chromium', chromium);
  execFileSync(process.execPath, [fileURLToPath(new URL('../../../scripts/ensure-miniapp-build.mjs', import.meta.url))], {
    stdio: 'inherit',
  });
}
