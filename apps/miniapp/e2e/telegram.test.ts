import path from 'node:path';
import type { RunningServer } from '@miniapp-billing/api';
import { signInitData } from '@miniapp-billing/api/telegram';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactsDir, axeViolations, startDemo } from './browser.ts';

const BOT = '4242:AAHtelegramModeEndToEndTestToken';
let server: RunningServer;
let browser: Browser;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ server, browser, close } = await startDemo({
    TELEGRAM_BOT_TOKEN: BOT,
    TELEGRAM_BOT_USERNAME: 'billing_demo_bot',
    TELEGRAM_APP_NAME: 'billing',
  }));
});
afterAll(() => close?.());

/** Telegram opens a Mini App with its init data and theme in the URL fragment. */
function launchUrl(base: string, initData: string, theme: Record<string, string>) {
  const hash = new URLSearchParams({
    tgWebAppData: initData,
    tgWebAppVersion: '8.0',
    tgWebAppPlatform: 'android',
    tgWebAppThemeParams: JSON.stringify(theme),
  });
  return `${base}/#${hash.toString()}`;
}

describe('inside Telegram', () => {
  it('signs in from init data with no tap, follows Telegram’s theme, and a paid start_param shows the activation', async () => {
    const page = await (await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 })).newPage();
    const user = JSON.stringify({ id: 5550001, first_name: 'Tanya', last_name: 'Gram' });
    const initData = signInitData({ auth_date: String(Math.floor(Date.now() / 1000)), query_id: 'AAE1', user }, BOT);
    const theme = {
      bg_color: '#17212b',
      secondary_bg_color: '#0e1621',
      text_color: '#f5f5f5',
      hint_color: '#708499',
      button_color: '#5288c1',
      button_text_color: '#ffffff',
      link_color: '#6ab3f3',
    };
    const signInAnswer = page.waitForResponse((r) => r.url().includes('auth.telegram') && r.status() === 200);
    await page.goto(launchUrl(server.url, initData, theme));
    await page.getByRole('region', { name: 'Current plan' }).getByText('Free').first().waitFor();
    expect(await page.locator('.who').textContent()).toBe('Tanya Gram');
    expect(await page.getByRole('button', { name: 'Demo login' }).count()).toBe(0);
    const bg = await page.evaluate(() => getComputedStyle(document.querySelector('.card') as Element).backgroundColor);
    expect(bg).toBe('rgb(23, 33, 43)');
    // Telegram's own header in fullscreen covers the top: the content keeps clear of it.
    const paddingTop = () => page.evaluate(() => getComputedStyle(document.getElementById('root') as Element).paddingTop);
    expect(await paddingTop()).toBe('12px');
    await page.evaluate(() =>
      (window as unknown as { Telegram: { WebView: { receiveEvent(t: string, d: unknown): void } } }).Telegram.WebView.receiveEvent(
        'content_safe_area_changed',
        { top: 40, bottom: 0, left: 0, right: 0 },
      ),
    );
    await expect.poll(paddingTop).toBe('52px');
    await page.screenshot({ path: path.join(artifactsDir('e2e'), 'telegram-01-signed-in.png'), fullPage: true });
    expect(await axeViolations(page), 'telegram-01-signed-in').toEqual([]);

    // Pay in "the external browser" (here: straight at the emulator), then relaunch with start_param.
    // Inside Telegram the token lives in memory only: nothing is left in storage for a script to lift.
    expect(await page.evaluate(() => localStorage.getItem('billing.session'))).toBeNull();
    const signedIn = (await (await signInAnswer).json()) as unknown;
    const token = JSON.stringify(signedIn).match(/"access_token":"([^"]+)"/)?.[1] as string;
    const checkout = await fetch(`${server.url}/api/v1/billing/checkout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ plan_id: 'vip_monthly' }),
    }).then((r) => r.json() as Promise<{ session_id: string }>);
    await fetch(`${server.emulator?.url}/_emulator/checkout/sessions/${checkout.session_id}/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const relaunch = signInitData(
      { auth_date: String(Math.floor(Date.now() / 1000)), query_id: 'AAE2', user, start_param: `paid-${checkout.session_id}` },
      BOT,
    );
    await page.goto('about:blank');
    await page.goto(launchUrl(server.url, relaunch, theme));
    await page.getByRole('heading', { name: 'Plan activated' }).waitFor();
    expect(await page.getByRole('region', { name: 'Plan activated' }).textContent()).toContain('VIP');
    await page.screenshot({ path: path.join(artifactsDir('e2e'), 'telegram-02-activated.png'), fullPage: true });
    expect(await axeViolations(page), 'telegram-02-activated').toEqual([]);
  });

  it('speaks the person’s Telegram language: German words, money and dates, whatever the browser’s locale', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, locale: 'en-US' });
    const page = await context.newPage();
    const user = JSON.stringify({ id: 5550004, first_name: 'Greta', last_name: 'Berg', language_code: 'de' });
    const initData = signInitData({ auth_date: String(Math.floor(Date.now() / 1000)), query_id: 'AAE4', user }, BOT);
    await page.goto(launchUrl(server.url, initData, { bg_color: '#ffffff', text_color: '#000000', secondary_bg_color: '#efeff4' }));
    const current = page.getByRole('region', { name: 'Aktueller Tarif' });
    await expect.poll(() => current.getByTestId('current-plan-name').textContent()).toBe('Kostenlos');
    expect(await page.locator('html').getAttribute('lang')).toBe('de');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Abrechnung');
    const plans = page.getByRole('region', { name: 'Tarife' });
    await plans.getByRole('button', { name: 'VIP mit Karte bezahlen' }).waitFor();
    expect(await plans.getByText('oder 5.000 Sterne / 30 Tage').count()).toBe(1);
    // Dollars as a German writes them, with no needless cents: "29 $ / Monat".
    expect((await plans.textContent())?.replace(/\u00a0/g, ' ')).toContain('29 $ / Monat');
    expect(await page.getByRole('region', { name: 'Rechnungen' }).textContent()).toContain('Noch keine Rechnungen');
    await page.screenshot({ path: path.join(artifactsDir('e2e'), 'telegram-05-german.png'), fullPage: true });
    expect(await axeViolations(page), 'telegram-05-german').toEqual([]);
    await context.close();
  });

  it('the success page in the external browser (no sign-in there) links back into Telegram', async () => {
    const page = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    await page.goto(`${server.url}/billing/success?session_id=cs_test_external`);
    const link = page.getByRole('link', { name: 'Return to Telegram' });
    expect(await link.getAttribute('href')).toBe('https://t.me/billing_demo_bot/billing?startapp=paid-cs_test_external');
  });

  it('pays a plan in Stars through Telegram’s invoice sheet, and records what the app asked of Telegram', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    const page = await context.newPage();
    const telegramId = 5550002;
    const tg = server.telegram as { url: string };
    await fetch(`${tg.url}/_telegram/users/${telegramId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"stars":2000}',
    });
    // Telegram's side of the WebView: every event the app posts is recorded; an invoice it opens is
    // paid at the Telegram emulator by this person, then the sheet closes with the outcome.
    const calls: string[] = [];
    await page.exposeFunction('telegramPostEvent', async (type: string, data: string) => {
      calls.push(type);
      if (type !== 'web_app_open_invoice') return;
      const { slug } = JSON.parse(data) as { slug: string };
      const paid = await fetch(`${tg.url}/_telegram/invoices/${slug}/pay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: telegramId, outcome: 'paid' }),
      }).then((r) => r.json() as Promise<{ status: string }>);
      await page.evaluate(
        ([s, status]) =>
          (window as unknown as { Telegram: { WebView: { receiveEvent(t: string, d: unknown): void } } }).Telegram.WebView.receiveEvent(
            'invoice_closed',
            { slug: s, status },
          ),
        [slug, paid.status] as const,
      );
    });
    await page.addInitScript(() => {
      (window as unknown as { TelegramWebviewProxy: unknown }).TelegramWebviewProxy = {
        postEvent: (type: string, data: string) =>
          (window as unknown as { telegramPostEvent(t: string, d: string): void }).telegramPostEvent(type, data),
      };
    });
    const user = JSON.stringify({ id: telegramId, first_name: 'Stella', last_name: 'Stars' });
    const initData = signInitData({ auth_date: String(Math.floor(Date.now() / 1000)), query_id: 'AAE3', user }, BOT);
    await page.goto(
      launchUrl(server.url, initData, {
        bg_color: '#ffffff',
        text_color: '#000000',
        button_color: '#2481cc',
        button_text_color: '#ffffff',
      }),
    );
    const premium = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Premium' }) });
    await premium.getByText('or 1,500 Stars / 30 days').waitFor();
    await page.screenshot({ path: path.join(artifactsDir('e2e'), 'telegram-03-stars-plans.png'), fullPage: true });
    expect(await axeViolations(page), 'telegram-03-stars-plans').toEqual([]);
    await page.getByRole('button', { name: 'Subscribe to Premium for 1500 Telegram Stars' }).click();
    const current = page.getByRole('region', { name: 'Current plan' });
    await expect.poll(() => current.getByTestId('current-plan-name').textContent(), { timeout: 15_000 }).toBe('Premium');
    expect(await current.textContent()).toContain('1,500 Stars');
    await page.getByRole('region', { name: 'Invoices' }).getByText('1,500 Stars').first().waitFor();
    // A Stars plan is not switched (Telegram keeps its price) and has no Stripe portal.
    expect(await page.getByRole('button', { name: /^(Upgrade|Downgrade) to/ }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Payment method & billing' }).count()).toBe(0);
    await page.screenshot({ path: path.join(artifactsDir('e2e'), 'telegram-04-stars-active.png'), fullPage: true });
    expect(await axeViolations(page), 'telegram-04-stars-active').toEqual([]);
    expect(calls).toContain('web_app_open_invoice');
    expect(calls.filter((c) => c === 'web_app_open_invoice')).toHaveLength(1);
    // Telegram-native: its header and background in the page's colour, the main button carrying the
    // primary action, closing asks first while the payment is on its way, and a haptic when it lands.
    expect(calls).toEqual(
      expect.arrayContaining([
        'web_app_set_header_color',
        'web_app_set_background_color',
        'web_app_setup_main_button',
        'web_app_setup_closing_behavior',
        'web_app_trigger_haptic_feedback',
      ]),
    );
    const stars = await fetch(`${tg.url}/_telegram/users/${telegramId}`).then((r) => r.json() as Promise<{ stars: number }>);
    expect(stars.stars).toBe(500);
    await context.close();
  });
});
