import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { ensureChromium } from '../../apps/miniapp/e2e/chromium.ts';
import { demoReady, spawnDemo } from './demo-process.ts';

// `pnpm bench` (section 8), or alone: `pnpm --filter @miniapp-billing/bench first-paint`.
// The Mini App's first contentful paint and first real content in headless Chromium under
// DevTools' network presets, from the demo as `pnpm start` serves it. Loopback only.
const RUNS = Number(process.env.FIRST_PAINT_RUNS ?? 3);

/** DevTools' presets, as Chromium's own throttling defines them (latency in ms, throughput in bytes/s). */
const PROFILES = {
  'Fast 4G': { latency: 60 * 2.75, downloadThroughput: ((9 * 1000 * 1000) / 8) * 0.9, uploadThroughput: ((1.5 * 1000 * 1000) / 8) * 0.9 },
  'Slow 3G': { latency: 400 * 5, downloadThroughput: ((500 * 1000) / 8) * 0.8, uploadThroughput: ((500 * 1000) / 8) * 0.8 },
} as const;
const TARGET: Record<keyof typeof PROFILES, number> = { 'Fast 4G': 2500, 'Slow 3G': 3500 };

async function startDemo(): Promise<{ url: string; proc: ChildProcess }> {
  const port = 21_000 + Math.floor(Math.random() * 19_000);
  const proc = spawnDemo(port, mkdtempSync(path.join(tmpdir(), 'bench-paint-')));
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (Date.now() - started > 90_000) throw new Error('the demo did not become ready in 90 s');
    if (await demoReady(port)) return { url, proc };
    await new Promise((r) => setTimeout(r, 100));
  }
}

const fcpOf = (page: Page) =>
  page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        const seen = performance.getEntriesByName('first-contentful-paint')[0];
        if (seen) return resolve(seen.startTime);
        // (Node's types know no 'paint' entries; the page's do.)
        new PerformanceObserver((list) => resolve(list.getEntries()[0]?.startTime ?? Number.NaN)).observe({
          type: 'paint' as 'mark',
          buffered: true,
        });
      }),
  );

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main() {
  const { executablePath, env } = await ensureChromium();
  const demo = await startDemo();
  const browser = await chromium.launch({
    executablePath,
    ...(env ? { env: { ...process.env, ...env } } : {}),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run'],
  });
  const out: string[] = [];
  try {
    // A signed-in person: their session is made once, unthrottled, then each run opens the page cold.
    const setup = await browser.newContext();
    const first = await setup.newPage();
    await first.goto(demo.url);
    await first.getByRole('button', { name: 'Demo login' }).click();
    await first.getByRole('button', { name: 'Upgrade to VIP' }).waitFor();
    const storage = await setup.storageState();
    await setup.close();

    out.push('| network | screen | first contentful paint (median) | target | its content shown (median) | bytes on the wire |');
    out.push('|---|---|---|---|---|---|');
    for (const [name, conditions] of Object.entries(PROFILES) as Array<[keyof typeof PROFILES, (typeof PROFILES)[keyof typeof PROFILES]]>) {
      for (const screen of ['billing page (signed in)', 'return from Checkout'] as const) {
        const fcps: number[] = [];
        const contents: number[] = [];
        let bytes = 0;
        for (let run = 0; run < RUNS; run++) {
          const context = await browser.newContext({ storageState: storage, viewport: { width: 390, height: 844 } });
          const page = await context.newPage();
          const cdp = await context.newCDPSession(page);
          await cdp.send('Network.enable');
          await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
          await cdp.send('Network.emulateNetworkConditions', { offline: false, ...conditions });
          let wire = 0;
          cdp.on('Network.loadingFinished', (e: { encodedDataLength: number }) => {
            wire += e.encodedDataLength;
          });
          const started = Date.now();
          const target = screen === 'return from Checkout' ? `${demo.url}/billing/success?session_id=cs_test_bench` : demo.url;
          await page.goto(target, { waitUntil: 'commit', timeout: 60_000 });
          fcps.push(await fcpOf(page));
          // Its content: the plans (billing page), or the answer about the payment (return page).
          if (screen === 'return from Checkout') await page.locator('#success-title').waitFor({ timeout: 60_000 });
          else await page.getByRole('button', { name: 'Upgrade to VIP' }).waitFor({ timeout: 60_000 });
          contents.push(Date.now() - started);
          bytes = wire;
          await context.close();
        }
        const fcp = median(fcps);
        out.push(
          `| ${name} | ${screen} | ${(fcp / 1000).toFixed(2)} s ${fcp <= TARGET[name] ? '(met)' : '(not met)'} | ≤ ${TARGET[name] / 1000} s | ${(median(contents) / 1000).toFixed(2)} s | ${(bytes / 1024).toFixed(1)} KiB |`,
        );
      }
    }
  } finally {
    await browser.close();
    if (demo.proc.pid) process.kill(-demo.proc.pid, 'SIGTERM');
  }
  console.log(out.join('\n'));
}

await main();
