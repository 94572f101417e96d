import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Bot, GrammyError, webhookCallback } from 'grammy';
import type { Update } from 'grammy/types';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningTelegramEmulator, SUBSCRIPTION_PERIOD, startTelegramEmulator } from '../src/index.ts';
import { telegramControl } from '../src/testing.ts';

// The real grammY over HTTP against the emulator: the Bot API as a bot library sees it.
const TOKEN = '7000000042:AAtestTokenForTheTelegramEmulatorSuite';
const SECRET = 'webhook-secret_0001';
let tg: RunningTelegramEmulator;
let bot: Bot;
let hook: Server;
/** Every update the bot's webhook accepted, in order. */
const received: Update[] = [];
/** How the bot answers a pre_checkout_query (each test may change it). */
let preCheckout: (q: { id: string; invoice_payload: string }) => Promise<void> | void;

const control = (method: string, path: string, body?: unknown) => telegramControl(tg, method, path, body);
const settle = () => control('GET', '/updates');
const api = () => new Bot(TOKEN, { client: { apiRoot: tg.apiRoot } }).api;

beforeAll(async () => {
  tg = await startTelegramEmulator({
    token: TOKEN,
    preCheckoutTimeoutMs: 1_000,
    delivery: { retryDelaysMs: [20, 50, 100], timeoutMs: 2_000 },
  });
  bot = new Bot(TOKEN, { client: { apiRoot: tg.apiRoot } });
  bot.use(async (ctx, next) => {
    received.push(ctx.update);
    await next();
  });
  bot.on('pre_checkout_query', async (ctx) => {
    await preCheckout(ctx.preCheckoutQuery);
  });
  hook = createServer(webhookCallback(bot, 'http', { secretToken: SECRET }));
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  await bot.api.setWebhook(`http://127.0.0.1:${(hook.address() as AddressInfo).port}/`, { secret_token: SECRET });
});
afterAll(async () => {
  await tg.close();
  await new Promise<void>((r) => hook.close(() => r()));
});
afterEach(() => {
  received.length = 0;
  preCheckout = async () => undefined;
});

const starsInvoice = (payload = 'user:1:premium_monthly', amount = 1500) =>
  api().createInvoiceLink('Premium', 'Premium, billed monthly in Stars', payload, '', 'XTR', [{ label: 'Premium', amount }], {
    subscription_period: SUBSCRIPTION_PERIOD,
  });
const slugOf = (link: string) => link.slice(link.indexOf('$') + 1);
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as GrammyError,
  );

describe('wire format', () => {
  it('answers getMe, refuses a wrong token with 401 and an unknown method with 404', async () => {
    expect(await api().getMe()).toMatchObject({ id: 7_000_000_042, is_bot: true, username: 'billing_demo_bot' });
    const wrong = await refusal(new Bot('7000000042:wrong', { client: { apiRoot: tg.apiRoot } }).api.getMe());
    expect(wrong).toBeInstanceOf(GrammyError);
    expect(wrong).toMatchObject({ error_code: 401, description: 'Unauthorized' });
    const res = await fetch(`${tg.url}/bot${TOKEN}/sendInvoiceToMars`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ ok: false, error_code: 404, description: 'Not Found: method not found' });
  });

  it('takes form bodies with JSON-valued fields, as Telegram does', async () => {
    await control('POST', '/users/501', { stars: 0, first_name: 'Form' });
    const form = new URLSearchParams({
      chat_id: '501',
      text: 'Hello',
      reply_markup: JSON.stringify({ inline_keyboard: [[{ text: 'Open', web_app: { url: 'https://app.example.com/billing' } }]] }),
    });
    const res = await fetch(`${tg.url}/bot${TOKEN}/sendMessage`, { method: 'POST', body: form });
    const body = (await res.json()) as { ok: boolean; result: { chat: { id: number }; reply_markup: unknown } };
    expect(body.ok).toBe(true);
    expect(body.result.chat.id).toBe(501);
    expect(body.result.reply_markup).toEqual({
      inline_keyboard: [[{ text: 'Open', web_app: { url: 'https://app.example.com/billing' } }]],
    });
  });
});

describe('createInvoiceLink refuses what Telegram refuses for Stars', () => {
  it.each([
    [
      'a currency other than XTR',
      () => api().createInvoiceLink('Premium', 'd', 'p', '', 'USD', [{ label: 'x', amount: 100 }]),
      /CURRENCY_INVALID/,
    ],
    [
      'two prices',
      () =>
        api().createInvoiceLink('Premium', 'd', 'p', '', 'XTR', [
          { label: 'a', amount: 1 },
          { label: 'b', amount: 2 },
        ]),
      /exactly one price/,
    ],
    [
      'a subscription period other than 30 days',
      () => api().createInvoiceLink('Premium', 'd', 'p', '', 'XTR', [{ label: 'x', amount: 1 }], { subscription_period: 86_400 }),
      /SUBSCRIPTION_PERIOD_INVALID/,
    ],
    [
      'a payload over 128 bytes',
      () => api().createInvoiceLink('Premium', 'd', 'é'.repeat(65), '', 'XTR', [{ label: 'x', amount: 1 }]),
      /payload/,
    ],
    [
      'a title over 32 characters',
      () => api().createInvoiceLink('P'.repeat(33), 'd', 'p', '', 'XTR', [{ label: 'x', amount: 1 }]),
      /title/,
    ],
  ])('%s', async (_name, call, description) => {
    const err = await refusal(call());
    expect(err).toBeInstanceOf(GrammyError);
    expect(err?.error_code).toBe(400);
    expect(err?.description).toMatch(description);
  });

  it('returns a t.me link whose slug has a hosted page with the price, where a person can pay', async () => {
    const link = await starsInvoice('user:401');
    expect(link).toMatch(/^https:\/\/t\.me\/\$[A-Za-z0-9_-]+$/);
    const page = await (await fetch(`${tg.url}/invoice/${slugOf(link)}`)).text();
    expect(page).toContain('⭐ 1500 / month');
    await control('POST', '/users/401', { stars: 1500 });
    preCheckout = async (q) => {
      await bot.api.answerPreCheckoutQuery(q.id, true);
    };
    const paid = await fetch(`${tg.url}/invoice/${slugOf(link)}/pay`, {
      method: 'POST',
      body: new URLSearchParams({ user_id: '401', outcome: 'paid' }),
    });
    expect(await paid.text()).toContain('Payment paid');
    expect((await control('GET', '/users/401')).body.stars).toBe(0);
    const bad = await fetch(`${tg.url}/_telegram/users/401`, { method: 'POST', body: '{nope' });
    expect(bad.status).toBe(400);
  });
});

describe('paying a Stars subscription', () => {
  it('pre-checkout, then the payment: the bot hears both through its webhook, with the secret token; Stars move', async () => {
    await control('POST', '/users/601', { stars: 2000 });
    const seen: string[] = [];
    preCheckout = async (q) => {
      seen.push(q.invoice_payload);
      await bot.api.answerPreCheckoutQuery(q.id, true);
    };
    const slug = slugOf(await starsInvoice('user:601:premium_monthly'));
    // The emulator's clock is read on both sides of the payment: a second may tick while it runs.
    const before = (await control('GET', '/clock')).body.now as number;
    const paid = await control('POST', `/invoices/${slug}/pay`, {
      user_id: 601,
      outcome: 'paid',
    });
    expect(paid.body).toMatchObject({ status: 'paid', telegram_payment_charge_id: expect.stringMatching(/^stxn_/) });
    await settle();
    expect(seen).toEqual(['user:601:premium_monthly']);
    const payment = received.find((u) => u.message?.successful_payment)?.message?.successful_payment;
    expect(payment).toMatchObject({
      currency: 'XTR',
      total_amount: 1500,
      invoice_payload: 'user:601:premium_monthly',
      telegram_payment_charge_id: paid.body.telegram_payment_charge_id,
      is_recurring: true,
      is_first_recurring: true,
    });
    const after = (await control('GET', '/clock')).body.now as number;
    expect(payment?.subscription_expiration_date).toBeGreaterThanOrEqual(before + SUBSCRIPTION_PERIOD);
    expect(payment?.subscription_expiration_date).toBeLessThanOrEqual(after + SUBSCRIPTION_PERIOD);
    expect((await control('GET', '/users/601')).body.stars).toBe(500);
    // Updates arrive in order with increasing ids.
    const ids = received.map((u) => u.update_id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('a bot that does not answer in time, or declines, fails the payment and keeps the Stars', async () => {
    await control('POST', '/users/602', { stars: 5000 });
    preCheckout = () => undefined; // never answers
    const late = await control('POST', `/invoices/${slugOf(await starsInvoice())}/pay`, { user_id: 602, outcome: 'paid' });
    expect(late.body).toEqual({ status: 'failed', reason: 'pre_checkout_timeout' });
    preCheckout = async (q) => {
      await bot.api.answerPreCheckoutQuery(q.id, false, { error_message: 'You already have Premium' });
    };
    const declined = await control('POST', `/invoices/${slugOf(await starsInvoice())}/pay`, { user_id: 602, outcome: 'paid' });
    expect(declined.body).toEqual({ status: 'failed', reason: 'You already have Premium' });
    expect((await control('GET', '/users/602')).body.stars).toBe(5000);
    await settle();
    expect(received.some((u) => u.message?.successful_payment)).toBe(false);
    // A late answer to an expired query is refused, as Telegram does.
    const expired = await refusal(bot.api.answerPreCheckoutQuery('999999', true));
    expect(expired?.description).toMatch(/query is too old/);
  });

  it('a person without the Stars, or who closes the sheet, does not reach the bot', async () => {
    await control('POST', '/users/603', { stars: 10 });
    const link = slugOf(await starsInvoice());
    expect((await control('POST', `/invoices/${link}/pay`, { user_id: 603, outcome: 'paid' })).body).toEqual({
      status: 'failed',
      reason: 'insufficient_stars',
    });
    expect((await control('POST', `/invoices/${link}/pay`, { user_id: 603, outcome: 'cancelled' })).body).toEqual({ status: 'cancelled' });
    await settle();
    expect(received).toEqual([]);
  });
});

describe('renewals on the clock, cancellations and refunds', () => {
  const subscribe = async (userId: number, stars: number) => {
    await control('POST', `/users/${userId}`, { stars });
    preCheckout = async (q) => {
      await bot.api.answerPreCheckoutQuery(q.id, true);
    };
    const paid = await control('POST', `/invoices/${slugOf(await starsInvoice(`user:${userId}`, 1000))}/pay`, {
      user_id: userId,
      outcome: 'paid',
    });
    await settle();
    received.length = 0;
    return paid.body.telegram_payment_charge_id as string;
  };
  const payments = () => received.flatMap((u) => (u.message?.successful_payment ? [u.message.successful_payment] : []));

  it('renews every 30 days while the Stars last, then lapses without a word to the bot', async () => {
    const charge = await subscribe(701, 2500);
    await control('POST', '/clock/advance', { seconds: SUBSCRIPTION_PERIOD });
    await settle();
    expect(payments()).toHaveLength(1);
    expect(payments()[0]).toMatchObject({ is_recurring: true, total_amount: 1000 });
    expect(payments()[0]?.is_first_recurring).toBeUndefined();
    expect(payments()[0]?.telegram_payment_charge_id).not.toBe(charge);
    expect((await control('GET', '/users/701')).body.stars).toBe(500);
    received.length = 0;
    await control('POST', '/clock/advance', { seconds: SUBSCRIPTION_PERIOD });
    await settle();
    expect(received).toEqual([]);
    const sub = (await control('GET', '/subscriptions')).body.subscriptions.find((s: { userId: number }) => s.userId === 701);
    expect(sub).toMatchObject({ active: false, chargeIds: [charge, expect.any(String)] });
    const { transactions } = await api().getStarTransactions({ limit: 100 });
    expect(transactions.filter((t) => t.source?.type === 'user' && t.source.user.id === 701)).toHaveLength(2);
  });

  it('a subscription the bot cancelled, or the person cancelled in settings, does not renew', async () => {
    const byBot = await subscribe(702, 5000);
    const byPerson = await subscribe(703, 5000);
    expect(await api().editUserStarSubscription(702, byBot, true)).toBe(true);
    await control('POST', `/subscriptions/${byPerson}/cancel`);
    await control('POST', '/clock/advance', { seconds: SUBSCRIPTION_PERIOD + 60 });
    await settle();
    expect(payments()).toEqual([]);
    expect((await control('GET', '/users/702')).body.stars).toBe(4000);
    const gone = await refusal(api().editUserStarSubscription(702, byBot, false));
    expect(gone?.description).toMatch(/SUBSCRIPTION_NOT_ACTIVE/);
  });

  it('a refund gives the Stars back and tells the bot once; a second refund is refused', async () => {
    const charge = await subscribe(704, 1000);
    expect(await api().refundStarPayment(704, charge)).toBe(true);
    await settle();
    expect(received.map((u) => u.message?.refunded_payment)).toEqual([
      { currency: 'XTR', total_amount: 1000, invoice_payload: 'user:704', telegram_payment_charge_id: charge },
    ]);
    expect((await control('GET', '/users/704')).body.stars).toBe(1000);
    const again = await refusal(api().refundStarPayment(704, charge));
    expect(again).toMatchObject({ error_code: 400, description: 'Bad Request: CHARGE_ALREADY_REFUNDED' });
  });
});

describe('messages, blocking and rate limits', () => {
  it('sends a message with a web_app button and keeps it; a blocked person is a 403; an unknown chat a 400', async () => {
    await control('POST', '/users/801', { first_name: 'Ann' });
    const sent = await api().sendMessage(801, '<b>Payment failed</b>', {
      parse_mode: 'HTML',
      reply_markup: { inline_keyboard: [[{ text: 'Fix payment', web_app: { url: 'https://app.example.com/billing' } }]] },
    });
    expect(sent).toMatchObject({ chat: { id: 801, type: 'private' }, text: '<b>Payment failed</b>' });
    expect((await control('GET', '/messages?chat_id=801')).body.messages).toEqual([
      expect.objectContaining({ message_id: sent.message_id }),
    ]);
    await control('POST', '/users/801', { blocked: true });
    expect(await refusal(api().sendMessage(801, 'hi'))).toMatchObject({
      error_code: 403,
      description: 'Forbidden: bot was blocked by the user',
    });
    expect(await refusal(api().sendMessage(424_242, 'hi'))).toMatchObject({ error_code: 400, description: 'Bad Request: chat not found' });
    const plainHttp = await refusal(
      api().sendMessage(801, 'hi', { reply_markup: { inline_keyboard: [[{ text: 'x', web_app: { url: 'http://evil.example/' } }]] } }),
    );
    expect(plainHttp?.error_code).toBe(400);
  });

  it('answers 429 with retry_after when asked to', async () => {
    await control('POST', '/users/802', {});
    await control('POST', '/faults', { method: 'sendMessage', error_code: 429, retry_after: 3 });
    const limited = await refusal(api().sendMessage(802, 'hi'));
    expect(limited).toMatchObject({ error_code: 429, parameters: { retry_after: 3 } });
    expect(await api().sendMessage(802, 'hi')).toMatchObject({ text: 'hi' });
  });
});

describe('webhook delivery', () => {
  it('retries an update that got no 2xx, in order, and reports the last error', async () => {
    let failures = 2;
    const flaky = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (failures-- > 0) res.writeHead(500).end();
        else res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
    const other = await startTelegramEmulator({ token: TOKEN, preCheckoutTimeoutMs: 300, delivery: { retryDelaysMs: [20, 20, 20] } });
    try {
      const otherApi = new Bot(TOKEN, { client: { apiRoot: other.apiRoot } }).api;
      await otherApi.setWebhook(`http://127.0.0.1:${(flaky.address() as AddressInfo).port}/`);
      await telegramControl(other, 'POST', '/users/901', { stars: 100 });
      const link = await otherApi.createInvoiceLink('One-off', 'd', 'p', '', 'XTR', [{ label: 'x', amount: 10 }]);
      // No answer to the pre-checkout: the update is still delivered (three attempts), then the payment fails.
      const paying = telegramControl(other, 'POST', `/invoices/${slugOf(link)}/pay`, { user_id: 901, outcome: 'paid' });
      const { body } = await telegramControl(other, 'GET', '/updates');
      expect(body.attempts.map((a: { status: number }) => a.status)).toEqual([500, 500, 200]);
      expect(new Set(body.attempts.map((a: { update_id: number }) => a.update_id)).size).toBe(1);
      expect((await otherApi.getWebhookInfo()).last_error_message).toBe('Wrong response from the webhook: 500');
      expect((await paying).body).toEqual({ status: 'failed', reason: 'pre_checkout_timeout' });
    } finally {
      await other.close();
      await new Promise<void>((r) => flaky.close(() => r()));
    }
  });
});
