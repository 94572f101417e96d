import type { RunningServer } from '@miniapp-billing/api';
import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo } from './browser.ts';

// What the first paint waits on, in bytes and requests (timings are the bench's: bench/src/first-paint.ts).
let server: RunningServer;
let browser: Browser;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ server, browser, close } = await startDemo());
});
afterAll(() => close?.());

/** The billing page needs at most this much compressed JavaScript. */
const JS_BUDGET = 110 * 1024;

async function fcp(page: Page): Promise<number | null> {
  return page.evaluate(
    () =>
      new Promise<number | null>((resolve) => {
        const seen = performance.getEntriesByName('first-contentful-paint')[0];
        if (seen) return resolve(seen.startTime);
        new PerformanceObserver((list) => resolve(list.getEntries()[0]?.startTime ?? null)).observe({ type: 'paint', buffered: true });
        setTimeout(() => resolve(null), 5000);
      }),
  );
}

describe('the first paint', () => {
  it('waits on the document alone: configuration and styles inline, the shell painted in the theme before any script runs', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    const page = await context.newPage();
    const requested: string[] = [];
    const cspErrors: string[] = [];
    page.on('request', (r) => requested.push(new URL(r.url()).pathname));
    page.on('console', (m) => m.type() === 'error' && /Content Security Policy/i.test(m.text()) && cspErrors.push(m.text()));
    // The app's script never arrives: what is on screen is the document's own.
    await page.route('**/assets/*.js', () => undefined);
    await page.goto(`${server.url}/billing/success?session_id=cs_test_shell`, { waitUntil: 'commit' });
    await page.locator('.shell').waitFor();
    expect(await fcp(page)).not.toBeNull();
    expect(await page.locator('.shell .card').count()).toBe(2);
    // Dark, as the system asks, from the first frame: the shell's card is the dark palette's.
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expect(await page.evaluate(() => getComputedStyle(document.querySelector('.shell .card') as Element).backgroundColor)).toBe(
      'rgb(27, 31, 39)',
    );
    expect(requested.filter((p) => p.endsWith('.css') || p === '/config.json')).toEqual([]);
    const config = JSON.parse((await page.locator('#app-config').textContent()) ?? '{}') as { demo?: boolean; time_zone?: string };
    expect(config).toMatchObject({ demo: true, time_zone: 'UTC' });
    expect(cspErrors).toEqual([]);
    await context.close();
  });

  it('inside Telegram the shell takes Telegram’s colours from the launch URL before any script runs', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'light' });
    const page = await context.newPage();
    await page.route('**/assets/*.js', () => undefined);
    const theme = JSON.stringify({
      bg_color: '#17212b',
      secondary_bg_color: '#0e1621',
      section_bg_color: '#17212b',
      text_color: '#f5f5f5',
    });
    await page.goto(`${server.url}/#tgWebAppThemeParams=${encodeURIComponent(theme)}&tgWebAppVersion=8.0`, {
      waitUntil: 'commit',
    });
    await page.locator('.shell').waitFor();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(14, 22, 33)');
    expect(await page.evaluate(() => getComputedStyle(document.querySelector('.shell .card') as Element).backgroundColor)).toBe(
      'rgb(23, 33, 43)',
    );
    await context.close();
  });

  it(`the signed-in billing page loads at most ${JS_BUDGET / 1024} kB of compressed JavaScript`, async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    await page.goto(server.url);
    await page.getByRole('button', { name: 'Demo login' }).click();
    await page.getByRole('button', { name: 'Upgrade to VIP' }).waitFor();
    // The billing page as a signed-in person opens it: what it loads, and nothing the sign-in needed.
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const scripts: Request[] = [];
    page.on('requestfinished', (r) => r.resourceType() === 'script' && scripts.push(r));
    await page.reload();
    await page.getByRole('region', { name: 'Invoices' }).getByText('No invoices yet').waitFor();
    await page.getByRole('button', { name: 'Upgrade to VIP' }).waitFor();
    const sizes = await Promise.all(
      scripts.map(async (r) => ({
        path: new URL(r.url()).pathname,
        bytes: (await r.sizes()).responseBodySize,
        encoding: (await r.response())?.headers()['content-encoding'] ?? 'identity',
      })),
    );
    const total = sizes.reduce((sum, s) => sum + s.bytes, 0);
    console.log(
      `billing page JS: ${(total / 1024).toFixed(1)} kB in ${sizes.length} files (${[...new Set(sizes.map((s) => s.encoding))].join(', ')})`,
    );
    expect(sizes.every((s) => s.encoding !== 'identity')).toBe(true);
    expect(total).toBeGreaterThan(20 * 1024);
    expect(total).toBeLessThanOrEqual(JS_BUDGET);
    await context.close();
  });
});
