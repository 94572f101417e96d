import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, payOnHostedPage, startTestServer, type TestServer } from '../helpers.ts';
import { figure, scale } from './figures.ts';

let t: TestServer;
beforeAll(async () => {
  // Many actions by one person on purpose: the per-person limit is tested on its own (limits.test.ts).
  t = await startTestServer({ BILLING_ACTIONS_PER_MINUTE: '10000' });
});
afterAll(() => t.close());

const demo = async () => (await call('POST', `${t.api}/auth/demo`)).body as { access_token: string; user: { id: string } };
const emulator = () => t.server.emulator as NonNullable<typeof t.server.emulator>;

describe('races', () => {
  it('concurrent checkouts for a new user make one Stripe customer', async () => {
    const n = scale(50, 200);
    const { access_token: token, user } = await demo();
    const results = await Promise.all(
      Array.from({ length: n }, () => call('POST', `${t.api}/billing/checkout`, { token, body: { plan_id: 'premium_monthly' } })),
    );
    const customers = [...emulator().state.customers.values()].filter((c) => c.metadata.user_id === user.id).length;
    const rows = (await t.server.database.db.selectFrom('stripe_customers').selectAll().where('user_id', '=', user.id).execute()).length;
    figure('race-concurrent-checkouts', {
      requests: n,
      created_201: results.filter((r) => r.status === 201).length,
      stripe_customers: customers,
      mapping_rows: rows,
    });
    expect(results.every((r) => r.status === 201)).toBe(true);
    expect(customers).toBe(1);
    expect(rows).toBe(1);
  });

  it('the same user paying in two tabs ends with one live subscription', async () => {
    const { access_token: token, user } = await demo();
    const a = await call('POST', `${t.api}/billing/checkout`, { token, body: { plan_id: 'premium_monthly' } });
    const b = await call('POST', `${t.api}/billing/checkout`, { token, body: { plan_id: 'vip_monthly' } });
    const [ra, rb] = await Promise.all([payOnHostedPage(t, a.body.url), payOnHostedPage(t, b.body.url)]);
    await emulator().webhooksIdle();
    const customer = [...emulator().state.customers.values()].find((c) => c.metadata.user_id === user.id)?.id;
    const live = [...emulator().state.subscriptions.values()].filter(
      (s) => s.customer === customer && ['active', 'trialing', 'past_due'].includes(s.status),
    );
    // Webhooks are acknowledged first and applied by a worker: the view is read once it has caught up.
    await expect
      .poll(async () => (await call('GET', `${t.api}/billing/subscription`, { token })).body.status, { timeout: 10_000, interval: 100 })
      .toBe('active');
    const view = await call('GET', `${t.api}/billing/subscription`, { token });
    figure('race-two-tabs', {
      tab1_paid: ra !== null,
      tab2_paid: rb !== null,
      live_subscriptions: live.length,
      shown_tier: view.body.tier,
    });
    expect(live).toHaveLength(1);
    expect(view.body.status).toBe('active');
  });

  it('the success page before any webhook shows the plan active on the first call', async () => {
    const { access_token: token } = await demo();
    emulator().webhooks.paused = true;
    try {
      const checkout = await call('POST', `${t.api}/billing/checkout`, { token, body: { plan_id: 'vip_monthly' } });
      await payOnHostedPage(t, checkout.body.url);
      const before = await call('GET', `${t.api}/billing/subscription`, { token });
      const confirm = await call('POST', `${t.api}/billing/checkout/success`, { token, body: { session_id: checkout.body.session_id } });
      figure('race-success-before-webhook', {
        tier_before_confirm: before.body.tier,
        first_confirm_status: confirm.body.subscription?.status,
        tier: confirm.body.subscription?.tier,
      });
      expect(before.body.tier).toBe('free');
      expect(confirm.body.subscription).toMatchObject({ tier: 'vip_monthly', status: 'active' });
    } finally {
      emulator().webhooks.resume();
      await emulator().webhooksIdle();
    }
  });

  it('concurrent confirms of one payment agree and store one subscription', async () => {
    const n = scale(10, 50);
    const { access_token: token, user } = await demo();
    const checkout = await call('POST', `${t.api}/billing/checkout`, { token, body: { plan_id: 'premium_monthly' } });
    await payOnHostedPage(t, checkout.body.url);
    const results = await Promise.all(
      Array.from({ length: n }, () =>
        call('POST', `${t.api}/billing/checkout/success`, { token, body: { session_id: checkout.body.session_id } }),
      ),
    );
    const rows = (await t.server.database.db.selectFrom('subscriptions').selectAll().where('user_id', '=', user.id).execute()).length;
    const activations = (
      await t.server.database.db
        .selectFrom('billing_notifications')
        .selectAll()
        .where('user_id', '=', user.id)
        .where('kind', '=', 'plan_activated')
        .execute()
    ).length;
    figure('race-concurrent-confirms', {
      confirms: n,
      ok_200: results.filter((r) => r.status === 200).length,
      subscription_rows: rows,
      activation_notices: activations,
    });
    expect(results.every((r) => r.status === 200 && r.body.subscription.tier === 'premium_monthly')).toBe(true);
    expect(rows).toBe(1);
    expect(activations).toBe(1);
  });
});
