import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, payOnHostedPage, startTestServer, type TestServer, telegramLogin } from './helpers.ts';

// A plan change is priced before it is made, by Stripe's invoice preview, and the change then
// charges exactly what the preview showed.
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const DAY = 86_400;

describe('plan change preview', () => {
  it('an upgrade shows what is due now and at renewal, and is charged exactly that; a downgrade shows its credit', async () => {
    const { access_token: token } = await telegramLogin(t);
    const checkout = await call('POST', `${t.api}/billing/checkout`, { token, body: { plan_id: 'premium_monthly' } });
    await payOnHostedPage(t, checkout.body.url);
    await t.emulatorControl('POST', '/clock/advance', { seconds: 10 * DAY });

    const up = await call('GET', `${t.api}/billing/subscription/preview?plan_id=vip_monthly`, { token });
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ plan_id: 'vip_monthly', direction: 'upgrade', currency: 'usd', credit: 0, next_amount: 9900 });
    // Two thirds of the month left: two thirds of the $70 difference, give or take the month's length.
    expect(up.body.amount_due_now).toBeGreaterThan(4000);
    expect(up.body.amount_due_now).toBeLessThan(5000);
    expect(up.body.next_amount_due).toBe(9900);
    const sub = await call('GET', `${t.api}/billing/subscription`, { token });
    expect(Date.parse(up.body.next_date)).toBe(Date.parse(sub.body.current_period_end));
    // The preview changed nothing.
    expect(sub.body.tier).toBe('premium_monthly');

    // Confirmed an hour later with the preview's proration_date: charged the amount shown.
    await t.emulatorControl('POST', '/clock/advance', { seconds: 3600 });
    const changed = await call('POST', `${t.api}/billing/subscription/change`, {
      token,
      body: { plan_id: 'vip_monthly', proration_date: up.body.proration_date },
    });
    expect(changed.status).toBe(200);
    expect(changed.body.tier).toBe('vip_monthly');
    const invoices = await call('GET', `${t.api}/billing/invoices`, { token });
    expect(invoices.body[0]).toMatchObject({
      status: 'paid',
      amount_paid: up.body.amount_due_now,
      purpose: { kind: 'update', plan_name: 'VIP', interval: 'month' },
    });
    expect(invoices.body[1]).toMatchObject({ purpose: { kind: 'create', plan_name: 'Premium', interval: 'month' } });

    const down = await call('GET', `${t.api}/billing/subscription/preview?plan_id=premium_monthly`, { token });
    expect(down.status).toBe(200);
    expect(down.body).toMatchObject({ direction: 'downgrade', amount_due_now: 0, next_amount: 2900 });
    expect(down.body.credit).toBeGreaterThan(4000);
    expect(down.body.next_amount_due).toBe(Math.max(0, 2900 - down.body.credit));
  });

  it('asks clearly: free users, the same plan, unknown plans and bad dates', async () => {
    const { access_token: token } = await telegramLogin(t);
    const free = await call('GET', `${t.api}/billing/subscription/preview?plan_id=vip_monthly`, { token });
    expect(free.status).toBe(404);
    expect(free.body).toMatchObject({ reason: 'NO_SUBSCRIPTION' });
    const checkout = await call('POST', `${t.api}/billing/checkout`, { token, body: { plan_id: 'premium_monthly' } });
    await payOnHostedPage(t, checkout.body.url);
    const same = await call('GET', `${t.api}/billing/subscription/preview?plan_id=premium_monthly`, { token });
    expect(same.body).toMatchObject({ reason: 'SAME_PLAN' });
    const unknown = await call('GET', `${t.api}/billing/subscription/preview?plan_id=gold`, { token });
    expect(unknown.status).toBe(400);
    expect(unknown.body.reason).toBe('UNKNOWN_PLAN');
    const missing = await call('GET', `${t.api}/billing/subscription/preview`, { token });
    expect(missing.status).toBe(422);
    expect(missing.body.reason).toBe('VALIDATION_FAILED');
    const badDate = await call('POST', `${t.api}/billing/subscription/change`, {
      token,
      body: { plan_id: 'vip_monthly', proration_date: 'soon' },
    });
    expect(badDate.status).toBe(422);
    expect(badDate.body.reason).toBe('VALIDATION_FAILED');
    // A date Stripe refuses (before the period) changes nothing.
    const early = await call('POST', `${t.api}/billing/subscription/change`, {
      token,
      body: { plan_id: 'vip_monthly', proration_date: 1_000_000_000 },
    });
    expect(early.status).toBeGreaterThanOrEqual(400);
    expect((await call('GET', `${t.api}/billing/subscription`, { token })).body.tier).toBe('premium_monthly');
  });
});
