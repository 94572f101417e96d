import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseEnv, type RunningServer, startServer } from '@miniapp-billing/api';
import { createTestDatabase } from '@miniapp-billing/billing-core/testing';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Debian's Chromium, headless; no browser download. Flags keep it off the (closed) network. */
export function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export function artifactsDir(name: string): string {
  const dir = new URL(`../../../artifacts/${name}/`, import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The demo server (emulator in-process) on a fresh database, serving the built Mini App, and a browser. */
export async function startDemo(
  env: Record<string, string> = {},
): Promise<{ server: RunningServer; browser: Browser; close(): Promise<void> }> {
  const database = await createTestDatabase({ postgres: !!process.env.TEST_DATABASE_URL, url: process.env.TEST_DATABASE_URL });
  const server = await startServer(
    parseEnv({ PORT: '0', STRIPE_EMULATOR_PORT: '0', DATA_DIR: mkdtempSync(path.join(tmpdir(), 'e2e-')), LOG_LEVEL: 'silent', ...env }),
    { database },
  );
  const browser = await launch();
  return {
    server,
    browser,
    close: async () => {
      await browser.close();
      await server.close();
      await database.close();
    },
  };
}
