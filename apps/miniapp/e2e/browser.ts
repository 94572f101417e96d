import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseEnv, type RunningServer, startServer } from '@miniapp-billing/api';
import { createTestDatabase } from '@miniapp-billing/billing-core/testing';
import { type Browser, chromium, type Page } from 'playwright-core';
import { inject } from 'vitest';

/** The Chromium the global setup found or provided (see chromium.ts); no browser download. */
export function launch(): Promise<Browser> {
  const { executablePath, env } = inject('chromium');
  return chromium.launch({
    executablePath,
    ...(env ? { env: { ...process.env, ...env } } : {}),
    // Flags keep it off the (closed) network.
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
    parseEnv({
      PORT: '0',
      STRIPE_EMULATOR_PORT: '0',
      TELEGRAM_EMULATOR_PORT: '0',
      DATA_DIR: mkdtempSync(path.join(tmpdir(), 'e2e-')),
      LOG_LEVEL: 'silent',
      ...env,
    }),
    { database },
  );
  let browser: Browser;
  try {
    browser = await launch();
  } catch (err) {
    // Leave nothing running behind a failed start: the caller has nothing to close.
    await server.close();
    await database.close();
    throw err;
  }
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

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core's serious and critical violations on the page as it stands (WCAG 2 A/AA rules, colour
 * contrast included), each as `rule: target` for a readable failure.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the page's CSP (no inline scripts) stays as it is.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: { run(o: unknown): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> }> };
      }
    ).axe;
    const { violations } = await axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa'] } });
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
  });
  return found;
}
