import path from 'node:path';
import type { RunningServer } from '@miniapp-billing/api';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactsDir, axeViolations, startDemo } from './browser.ts';

let server: RunningServer;
let browser: Browser;
let close: () => Promise<void>;
const shots = artifactsDir('e2e');
beforeAll(async () => {
  ({ server, browser, close } = await startDemo());
});
afterAll(() => close?.());

/** A screenshot of the screen, and axe-core's check of it: no serious or critical violation. */
async function shot(page: Page, name: string) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  // The hosted Stripe pages are the emulator's, not ours: only the Mini App's screens are held to it.
  if (new URL(page.url()).origin === new URL(server.url).origin) expect(await axeViolations(page), name).toEqual([]);
}

/** A phone-sized page signed in as a new demo user, closed after `walk` whatever happens. */
async function asDemoUser(walk: (page: Page) => Promise<void>): Promise<void> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true });
  try {
    const page = await context.newPage();
    await page.goto(server.url);
    await page.getByRole('button', { name: 'Demo login' }).click();
    await walk(page);
  } finally {
    await context.close();
  }
}

describe.each(['light', 'dark'] as const)('the billing walk in a real browser (%s)', (scheme) => {
  it('demo login → free → upgrade → pay → plan activated → paid invoice with PDF → portal → cancels on', async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      colorScheme: scheme,
      hasTouch: true,
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(server.url);
      await page.getByRole('button', { name: 'Demo login' }).click();
      const current = page.getByRole('region', { name: 'Current plan' });
      await expect.poll(() => current.getByTestId('current-plan-name').textContent()).toBe('Free');
      await expect.poll(() => page.getByRole('region', { name: 'Invoices' }).textContent()).toContain('No invoices yet');
      await shot(page, `${scheme}-01-free`);

      const premium = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Premium' }) });
      await premium.getByRole('button', { name: /Upgrade/ }).click();
      await page.waitForURL(/\/checkout\/cs_test_/);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toContain('Premium');
      // The Mini App sent the checkout with an Idempotency-Key of its own (one per intent).
      const created = server.emulator?.requests.filter((r) => r.method === 'POST' && r.path === '/v1/checkout/sessions') ?? [];
      expect(created.at(-1)?.idempotency_key).toMatch(/^checkout:[0-9a-f-]{36}:checkout-[0-9a-f-]{36}$/);
      await shot(page, `${scheme}-02-checkout`);

      await page.getByRole('button', { name: /Pay/ }).click();
      await page.waitForURL(/\/billing\/success\?session_id=cs_test_/);
      await page.getByRole('heading', { name: 'Plan activated' }).waitFor();
      const activated = page.getByRole('region', { name: 'Plan activated' });
      expect(await activated.textContent()).toContain('Premium');
      // The receipt: the amount charged, the card, and Stripe's receipt page.
      const receipt = (await activated.getByTestId('receipt').textContent()) ?? '';
      expect(receipt).toContain('Charged$29');
      expect(receipt).toContain('CardVisa •••• 4242');
      expect(await activated.getByRole('link', { name: 'View receipt' }).getAttribute('href')).toMatch(/\/receipts\/in_/);
      await shot(page, `${scheme}-03-success`);

      await page.getByRole('button', { name: 'Back to billing' }).click();
      await expect.poll(() => current.getByTestId('current-plan-name').textContent()).toBe('Premium');
      expect(await current.textContent()).toContain('Active');
      expect(await current.textContent()).toMatch(/Renews on/);
      const invoices = page.getByRole('region', { name: 'Invoices' });
      await invoices.getByText('Paid').waitFor();
      const pdfHref = await invoices.getByRole('link', { name: /PDF/ }).first().getAttribute('href');
      const pdf = await page.request.get(pdfHref as string);
      expect(pdf.headers()['content-type']).toBe('application/pdf');
      expect((await pdf.body()).subarray(0, 5).toString()).toBe('%PDF-');
      await shot(page, `${scheme}-04-active`);

      // An upgrade shows what Stripe will charge now, and is charged exactly that.
      const vip = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'VIP' }) });
      await vip.getByRole('button', { name: 'Upgrade to VIP' }).click();
      const upgrade = vip.getByRole('group', { name: /Upgrade to VIP/ });
      await expect
        .poll(() =>
          upgrade
            .getByTestId('change-amounts')
            .textContent()
            .catch(() => ''),
        )
        .toMatch(/Due now\$\d/);
      const dueNow = /Due now(\$[\d.,]+)/.exec((await upgrade.getByTestId('change-amounts').textContent()) ?? '')?.[1] as string;
      expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('FIELDSET');
      await shot(page, `${scheme}-04b-upgrade-confirm`);
      await upgrade.getByRole('button', { name: 'Confirm upgrade' }).click();
      await expect.poll(() => current.getByTestId('current-plan-name').textContent()).toBe('VIP');
      await expect.poll(() => invoices.getByRole('listitem').first().textContent()).toContain(dueNow);
      // A downgrade charges nothing now and says what credit the unused time leaves.
      await premium.getByRole('button', { name: 'Downgrade to Premium' }).click();
      const downgrade = premium.getByRole('group', { name: /Downgrade to Premium/ });
      await expect
        .poll(() =>
          downgrade
            .getByTestId('change-amounts')
            .textContent()
            .catch(() => ''),
        )
        .toMatch(/Due now\$0.*Credit for unused time\$\d/);
      await shot(page, `${scheme}-04c-downgrade-confirm`);
      await downgrade.getByRole('button', { name: 'Confirm downgrade' }).click();
      await expect.poll(() => current.getByTestId('current-plan-name').textContent()).toBe('Premium');

      await page.getByRole('button', { name: 'Payment method & billing' }).click();
      await page.waitForURL(/\/portal\/bps_/);
      await shot(page, `${scheme}-05-portal`);
      await page.getByRole('button', { name: 'Cancel plan' }).click();
      await page
        .getByText(/will be canceled/)
        .first()
        .waitFor();
      await page.getByRole('link', { name: 'Return to app' }).click();
      // Back on the billing page, which re-reads the customer from Stripe and drops its marker.
      await page.waitForURL(/\/billing$/);
      await expect.poll(() => current.textContent()).toMatch(/Cancels on/);
      await shot(page, `${scheme}-06-cancels`);
      // Resume and cancel again, in the app itself: the confirmation says until when access lasts.
      await current.getByRole('button', { name: 'Resume plan' }).click();
      await expect.poll(() => current.textContent()).toMatch(/Renews on/);
      await current.getByRole('button', { name: 'Cancel plan' }).click();
      const confirm = current.getByRole('group', { name: /Cancel Premium\?/ });
      expect(await confirm.textContent()).toMatch(/You keep it until .+, then move to Free/);
      expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('FIELDSET');
      await shot(page, `${scheme}-07-cancel-confirm`);
      await confirm.getByRole('button', { name: 'Cancel plan' }).click();
      await expect.poll(() => current.textContent()).toMatch(/Cancels on/);
      await page
        .getByRole('status')
        .filter({ hasText: /is cancelled\. You keep it until/ })
        .waitFor();
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe('a checkout left unfinished', () => {
  it('Back from Stripe shows it pending with Continue and Cancel; no other purchase starts until it is settled', async () => {
    await asDemoUser(async (page) => {
      const plans = page.getByRole('region', { name: 'Plans' });
      await plans.getByRole('button', { name: 'Upgrade to Premium' }).click();
      await page.waitForURL(/\/checkout\/cs_test_/);
      const checkoutUrl = page.url();
      await page.goBack();
      const waiting = plans.getByRole('status').filter({ hasText: 'Your checkout for Premium is waiting for payment.' });
      await waiting.waitFor();
      expect(await plans.getByRole('button', { name: 'Upgrade to VIP' }).isDisabled()).toBe(true);
      expect(await plans.getByRole('button', { name: 'Upgrade to Premium' }).isDisabled()).toBe(true);
      await page.screenshot({ path: path.join(shots, 'pending-checkout.png'), fullPage: true });
      expect(await axeViolations(page), 'pending-checkout').toEqual([]);
      // Continue goes back to the same Stripe page; Cancel ends it, and the plans are open again.
      await waiting.getByRole('button', { name: 'Continue to payment' }).click();
      await page.waitForURL(checkoutUrl);
      await page.goBack();
      await waiting.getByRole('button', { name: 'Cancel checkout' }).click();
      await plans.getByText('Checkout canceled. You have not been charged.').waitFor();
      // The pending checkout is read again: gone, and the plans open.
      await expect.poll(() => waiting.count()).toBe(0);
      await expect.poll(() => plans.getByRole('button', { name: 'Upgrade to VIP' }).isEnabled()).toBe(true);
    });
  });
});

describe('a promotion code', () => {
  it('one Stripe does not know is refused next to the field; the demo’s WELCOME10 takes 10 % off the first payment', async () => {
    await asDemoUser(async (page) => {
      const plans = page.getByRole('region', { name: 'Plans' });
      await plans.getByText('Have a promotion code?').click();
      const field = plans.getByRole('textbox', { name: 'Promotion code' });
      await field.fill('nope-2026');
      await plans.getByRole('button', { name: 'Upgrade to Premium' }).click();
      const refused = page.locator('.promo').getByRole('alert');
      await refused.waitFor();
      expect(await refused.textContent()).toBe('This promotion code is not valid for this plan.');
      expect(await field.getAttribute('aria-invalid')).toBe('true');
      await page.screenshot({ path: path.join(shots, 'promotion-code-refused.png'), fullPage: true });
      expect(await axeViolations(page), 'promotion-code-refused').toEqual([]);
      await field.fill('welcome10');
      await plans.getByRole('button', { name: 'Upgrade to Premium' }).click();
      await page.waitForURL(/\/checkout\/cs_test_/);
      expect(await page.locator('body').textContent()).toContain('$26.10');
    });
  });
});

describe('a hanging Stripe', () => {
  it('says so after 3 s, offers Retry or Cancel after 8 s, and Cancel gives the person back the page', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true });
    const page = await context.newPage();
    const emulatorUrl = server.emulator?.url as string;
    const fault = (method: string, body?: unknown) =>
      fetch(`${emulatorUrl}/_emulator/faults`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    try {
      await page.goto(server.url);
      await page.getByRole('button', { name: 'Demo login' }).click();
      const plans = page.getByRole('region', { name: 'Plans' });
      await plans.getByRole('button', { name: 'Upgrade to VIP' }).waitFor();
      expect((await fault('POST', { method: 'POST', path: '/v1/checkout/sessions', delay_ms: 20_000, count: 5 })).status).toBe(201);
      await plans.getByRole('button', { name: 'Upgrade to VIP' }).click();
      await plans.getByText('Still waiting for Stripe…').waitFor({ timeout: 6000 });
      await plans.getByText('Stripe is taking longer than usual.').waitFor({ timeout: 9000 });
      await page.screenshot({ path: path.join(shots, 'hanging-stripe.png'), fullPage: true });
      await plans.getByRole('button', { name: 'Cancel', exact: true }).click();
      // TanStack Query tells React of the reset on its next tick: the button is enabled a moment later.
      await expect.poll(() => plans.getByRole('button', { name: 'Upgrade to VIP' }).isEnabled(), { timeout: 2000 }).toBe(true);
      expect(await page.getByRole('alert').count()).toBe(0);
    } finally {
      await fault('DELETE');
      await context.close();
    }
  }, 40_000);
});
