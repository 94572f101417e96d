import { reconcileStars } from '@miniapp-billing/billing-core';
import { telegramControl } from '@miniapp-billing/telegram-emulator/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestServer, type TestServer, telegramLogin } from './helpers.ts';

// The Telegram Stars rail end to end, as a client would drive it: sign in with init data, ask for a
// Stars invoice, pay it in (emulated) Telegram, and watch the plan through the API while the
// Telegram clock moves, Stars run out, money comes back and forged or replayed updates arrive.
const SECRET = 'telegram-webhook-secret-for-the-stars-suite-0001';
const PERIOD = 2_592_000;
let t: TestServer;
const tg = (method: string, path: string, body?: unknown) => telegramControl(t.server.telegram as { url: string }, method, path, body);
/** Waits until every update is delivered to the bot. */
const settle = () => tg('GET', '/updates');

beforeAll(async () => {
  t = await startTestServer({ TELEGRAM_WEBHOOK_SECRET: SECRET, BILLING_ACTIONS_PER_MINUTE: '1000' });
});
afterAll(() => t.close());

async function subscriber(telegramId: number, stars: number) {
  const login = await telegramLogin(t, { id: telegramId, first_name: 'Star', last_name: 'Payer' });
  await tg('POST', `/users/${telegramId}`, { stars });
  return login;
}

async function payStars(token: string, telegramId: number, plan = 'premium_monthly') {
  const invoice = await call('POST', `${t.api}/billing/stars/invoice`, { token, body: { plan_id: plan } });
  expect(invoice.status).toBe(201);
  const paid = await tg('POST', `/invoices/${invoice.body.slug}/pay`, { user_id: telegramId, outcome: 'paid' });
  await settle();
  return paid.body as { status: string; reason?: string; telegram_payment_charge_id?: string };
}

const subscription = async (token: string) => (await call('GET', `${t.api}/billing/subscription`, { token })).body;

describe('the Stars rail', () => {
  it('pays a plan in Stars: active on the telegram_stars rail, and the other rail refuses a second plan', async () => {
    const login = await subscriber(5_000_001, 3000);
    const invoice = await call('POST', `${t.api}/billing/stars/invoice`, {
      token: login.access_token,
      body: { plan_id: 'premium_monthly' },
    });
    expect(invoice.status).toBe(201);
    expect(invoice.body.invoice_link).toMatch(/^https:\/\/t\.me\/\$/);
    const paid = await tg('POST', `/invoices/${invoice.body.slug}/pay`, { user_id: 5_000_001, outcome: 'paid' });
    expect(paid.body.status).toBe('paid');
    await settle();
    const sub = await subscription(login.access_token);
    expect(sub).toMatchObject({
      tier: 'premium_monthly',
      status: 'active',
      rail: 'telegram_stars',
      has_access: true,
      amount: 1500,
      currency: 'XTR',
      cancel_at_period_end: false,
    });
    const stripe = await call('POST', `${t.api}/billing/checkout`, { token: login.access_token, body: { plan_id: 'vip_monthly' } });
    expect(stripe.status).toBe(409);
    expect(stripe.body.reason).toBe('SUBSCRIPTION_EXISTS');
    const again = await call('POST', `${t.api}/billing/stars/invoice`, { token: login.access_token, body: { plan_id: 'vip_monthly' } });
    expect(again.status).toBe(409);
    const metrics = await call('GET', `${t.base}/metrics`, { headers: { authorization: 'Bearer metrics-token-for-tests' } });
    expect(metrics.body).toMatch(/miniapp_stars_invoice_total\{plan="premium_monthly"\} [1-9]/);
  });

  it('renews when Telegram renews, and lapses to free when the Stars run out', async () => {
    const login = await subscriber(5_000_002, 3000);
    expect((await payStars(login.access_token, 5_000_002)).status).toBe('paid');
    const first = await subscription(login.access_token);
    await tg('POST', '/clock/advance', { seconds: PERIOD });
    await settle();
    const renewed = await subscription(login.access_token);
    expect(renewed).toMatchObject({ status: 'active', rail: 'telegram_stars', has_access: true });
    expect(Date.parse(renewed.current_period_end) - Date.parse(first.current_period_end)).toBe(PERIOD * 1000);
    expect((await tg('GET', '/users/5000002')).body.stars).toBe(0);
    // Both payments are in the history, newest first, in Stars, with no PDF; the cursor pages through them.
    const history = await call('GET', `${t.api}/billing/invoices?limit=1`, { token: login.access_token });
    expect(history.body).toEqual([
      expect.objectContaining({ id: expect.stringMatching(/^stxn_/), currency: 'XTR', amount_paid: 1500, status: 'paid', pdf_url: null }),
    ]);
    expect(history.body[0].description).toBe('Premium · renewal in Telegram Stars');
    const older = await call('GET', `${t.api}/billing/invoices?limit=5&starting_after=${history.body[0].id}`, {
      token: login.access_token,
    });
    expect(older.body.map((i: { description: string }) => i.description)).toEqual(['Premium · 30 days in Telegram Stars']);
    await tg('POST', '/clock/advance', { seconds: PERIOD });
    await settle();
    expect(await subscription(login.access_token)).toMatchObject({ tier: 'free', has_access: false });
    // The bot said two things in all: the activation, then (after the lapse's grace) the end; the renewal was quiet.
    const texts = async () => ((await tg('GET', '/messages?chat_id=5000002')).body.messages as Array<{ text: string }>).map((m) => m.text);
    const end = Date.now() + 10_000;
    while ((await texts()).length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(await texts()).toEqual([
      '✅ <b>Premium</b> is active. Thank you for subscribing!',
      'Your <b>Premium</b> plan has ended. You can subscribe again at any time.',
    ]);
  });

  it('cancels and resumes through the same procedures, telling Telegram', async () => {
    const login = await subscriber(5_000_003, 1500);
    const { telegram_payment_charge_id: charge } = await payStars(login.access_token, 5_000_003);
    const canceled = await call('POST', `${t.api}/billing/subscription/cancel`, { token: login.access_token, body: {} });
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({ rail: 'telegram_stars', cancel_at_period_end: true, has_access: true });
    const at = (await tg('GET', '/subscriptions')).body.subscriptions.find((s: { chargeId: string }) => s.chargeId === charge);
    expect(at.canceledByBot).toBe(true);
    const resumed = await call('POST', `${t.api}/billing/subscription/resume`, { token: login.access_token, body: {} });
    expect(resumed.body).toMatchObject({ cancel_at_period_end: false });
    expect(
      (await tg('GET', '/subscriptions')).body.subscriptions.find((s: { chargeId: string }) => s.chargeId === charge).canceledByBot,
    ).toBe(false);
  });

  it('a refund ends access at once', async () => {
    const login = await subscriber(5_000_004, 1500);
    const { telegram_payment_charge_id: charge } = await payStars(login.access_token, 5_000_004);
    expect((await subscription(login.access_token)).has_access).toBe(true);
    await t.server.deps.bot?.api.refundStarPayment(5_000_004, charge as string);
    await settle();
    expect(await subscription(login.access_token)).toMatchObject({ tier: 'free', has_access: false });
    const history = await call('GET', `${t.api}/billing/invoices`, { token: login.access_token });
    expect(history.body).toEqual([expect.objectContaining({ id: charge, stripe_status: 'refunded', status: 'canceled' })]);
  });

  it('reconciliation reads the Star transactions and applies a payment and a refund the mirror missed, once', async () => {
    const login = await subscriber(5_000_301, 1500);
    const { telegram_payment_charge_id: charge } = await payStars(login.access_token, 5_000_301);
    const db = t.server.deps.billing.db;
    // As if the update had been lost for good: the mirror knows nothing of the payment.
    await db
      .deleteFrom('star_payments')
      .where('telegram_payment_charge_id', '=', charge as string)
      .execute();
    await db
      .deleteFrom('star_subscriptions')
      .where('first_charge_id', '=', charge as string)
      .execute();
    expect(await subscription(login.access_token)).toMatchObject({ tier: 'free' });
    const api = t.server.deps.bot?.api as Parameters<typeof reconcileStars>[1];
    const first = await reconcileStars(t.server.deps.billing, api);
    expect(first.paymentsRepaired).toBe(1);
    expect(await subscription(login.access_token)).toMatchObject({ tier: 'premium_monthly', rail: 'telegram_stars', has_access: true });
    expect((await reconcileStars(t.server.deps.billing, api)).paymentsRepaired).toBe(0);
    // A refund whose update was lost: found the same way.
    await t.server.deps.bot?.api.refundStarPayment(5_000_301, charge as string);
    await settle();
    await db
      .updateTable('star_payments')
      .set({ refunded_at: null })
      .where('telegram_payment_charge_id', '=', charge as string)
      .execute();
    await db
      .updateTable('star_subscriptions')
      .set({ refunded_at: null })
      .where('first_charge_id', '=', charge as string)
      .execute();
    expect((await subscription(login.access_token)).has_access).toBe(true);
    expect((await reconcileStars(t.server.deps.billing, api)).refundsRepaired).toBe(1);
    expect(await subscription(login.access_token)).toMatchObject({ tier: 'free', has_access: false });
  });

  it('the bot declines a payment from another Telegram account, or for a plan someone already has', async () => {
    const owner = await subscriber(5_000_005, 0);
    await tg('POST', '/users/5000006', { stars: 5000 });
    const invoice = await call('POST', `${t.api}/billing/stars/invoice`, {
      token: owner.access_token,
      body: { plan_id: 'premium_monthly' },
    });
    const stranger = await tg('POST', `/invoices/${invoice.body.slug}/pay`, { user_id: 5_000_006, outcome: 'paid' });
    expect(stranger.body).toEqual({ status: 'failed', reason: 'This invoice was made for another account.' });
    await tg('POST', '/users/5000005', { stars: 10_000 });
    const second = await call('POST', `${t.api}/billing/stars/invoice`, { token: owner.access_token, body: { plan_id: 'vip_monthly' } });
    expect((await tg('POST', `/invoices/${invoice.body.slug}/pay`, { user_id: 5_000_005, outcome: 'paid' })).body.status).toBe('paid');
    await settle();
    // The second invoice was made before the first was paid: paying it now is declined.
    const late = await tg('POST', `/invoices/${second.body.slug}/pay`, { user_id: 5_000_005, outcome: 'paid' });
    expect(late.body).toEqual({ status: 'failed', reason: 'You already have a live subscription.' });
    expect((await tg('GET', '/users/5000005')).body.stars).toBe(8500);
  });

  it('a person signed in without Telegram cannot pay in Stars', async () => {
    const demo = await call('POST', `${t.api}/auth/demo`);
    const res = await call('POST', `${t.api}/billing/stars/invoice`, {
      token: demo.body.access_token,
      body: { plan_id: 'premium_monthly' },
    });
    expect(res.status).toBe(403);
    expect(res.body.reason).toBe('TELEGRAM_ACCOUNT_REQUIRED');
  });
});

describe('the bot webhook', () => {
  const paymentUpdate = (updateId: number, telegramId: number, payload: string, charge: string) => ({
    update_id: updateId,
    message: {
      message_id: 1,
      date: Math.floor(Date.now() / 1000),
      chat: { id: telegramId, type: 'private', first_name: 'Star' },
      from: { id: telegramId, is_bot: false, first_name: 'Star' },
      successful_payment: {
        currency: 'XTR',
        total_amount: 1500,
        invoice_payload: payload,
        telegram_payment_charge_id: charge,
        provider_payment_charge_id: '',
        subscription_expiration_date: Math.floor(Date.now() / 1000) + PERIOD * 12,
        is_recurring: true,
        is_first_recurring: true,
      },
    },
  });
  const post = (body: unknown, secret?: string) =>
    call('POST', `${t.api}/telegram/webhook`, { body, headers: secret ? { 'x-telegram-bot-api-secret-token': secret } : {} });

  it('refuses a forged or missing secret and changes nothing', async () => {
    const login = await subscriber(5_000_101, 0);
    const forged = paymentUpdate(900_000_001, 5_000_101, `s1:${login.user.id}:premium_monthly:forgedforged`, 'stxn_forged');
    for (const secret of [undefined, 'wrong', `${SECRET}x`]) {
      const res = await post(forged, secret);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 'UNAUTHORIZED', request_id: expect.any(String) });
    }
    expect(await subscription(login.access_token)).toMatchObject({ tier: 'free', has_access: false });
  });

  it('a replayed update, or the same payment under a new update id, changes nothing', async () => {
    const login = await subscriber(5_000_102, 1500);
    const { telegram_payment_charge_id: charge } = await payStars(login.access_token, 5_000_102);
    const before = await subscription(login.access_token);
    const payload = (await tg('GET', '/subscriptions')).body.subscriptions.find((s: { chargeId: string }) => s.chargeId === charge).payload;
    // The same charge, claimed to last a year: applied once already, so nothing moves.
    const replayed = await post(paymentUpdate(900_000_002, 5_000_102, payload, charge as string), SECRET);
    expect(replayed.status).toBe(200);
    expect(await subscription(login.access_token)).toEqual(before);
    // An update id already taken is acknowledged and skipped.
    const first = (await tg('GET', '/updates')).body.attempts[0].update_id as number;
    const dup = await post(paymentUpdate(first, 5_000_102, payload, 'stxn_new_charge'), SECRET);
    expect(dup.body).toEqual({ ok: true, duplicate: true });
    expect(await subscription(login.access_token)).toEqual(before);
  });

  it('a malformed update is a 400, never a 500', async () => {
    for (const body of [{}, { update_id: -1 }, { update_id: 'x' }, [1, 2]]) {
      const res = await post(body, SECRET);
      expect(res.status).toBe(400);
    }
  });
});

describe('billing messages from the bot', () => {
  const messages = async (chat: number) =>
    (await tg('GET', `/messages?chat_id=${chat}`)).body.messages as Array<{ text: string; reply_markup?: any }>;
  const eventually = async <T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await read();
      if (ok(v) || Date.now() > end) return v;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('tells a person their plan is active, once, with a button into the Mini App', async () => {
    const login = await subscriber(5_000_201, 1500);
    await payStars(login.access_token, 5_000_201);
    const sent = await eventually(
      () => messages(5_000_201),
      (m) => m.length > 0,
    );
    expect(sent).toHaveLength(1);
    expect(sent[0]?.text).toBe('✅ <b>Premium</b> is active. Thank you for subscribing!');
    expect(sent[0]?.reply_markup).toEqual({
      inline_keyboard: [[{ text: 'Open billing', web_app: { url: 'https://app.example.com/billing' } }]],
    });
    // A replay of the payment writes no second notice.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await messages(5_000_201)).toHaveLength(1);
  });

  it('reminds a Stars subscriber to have the Stars three days before renewal, once per period', async () => {
    const login = await subscriber(5_000_203, 1500);
    await payStars(login.access_token, 5_000_203);
    await eventually(
      () => messages(5_000_203),
      (m) => m.length === 1,
    );
    await tg('POST', '/clock/advance', { seconds: PERIOD - 3 * 86_400 + 3600 });
    const sent = await eventually(
      () => messages(5_000_203),
      (m) => m.length === 2,
    );
    expect(sent[1]?.text).toBe('⏰ Your <b>Premium</b> plan renews in 3 days. Make sure you have enough Telegram Stars to keep it.');
    await tg('POST', '/clock/advance', { seconds: 3600 });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await messages(5_000_203)).toHaveLength(2);
  });

  it('waits out a 429, then sends; stops for a person who blocked the bot', async () => {
    const login = await subscriber(5_000_202, 1500);
    await tg('POST', '/faults', { method: 'sendMessage', error_code: 429, retry_after: 1 });
    const { telegram_payment_charge_id: charge } = await payStars(login.access_token, 5_000_202);
    const sent = await eventually(
      () => messages(5_000_202),
      (m) => m.length > 0,
    );
    expect(sent.map((m) => m.text)).toEqual(['✅ <b>Premium</b> is active. Thank you for subscribing!']);
    await tg('POST', '/users/5000202', { blocked: true });
    await t.server.deps.bot?.api.refundStarPayment(5_000_202, charge as string);
    await settle();
    const notice = await eventually(
      async () =>
        await t.server.deps.billing.db
          .selectFrom('billing_notifications')
          .select(['status', 'last_error'])
          .where('kind', '=', 'refunded')
          .where('user_id', '=', login.user.id)
          .executeTakeFirst(),
      (n) => n?.status === 'skipped',
    );
    expect(notice).toEqual({ status: 'skipped', last_error: 'the person blocked the bot' });
    expect(await messages(5_000_202)).toHaveLength(1);
  });
});
