import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckout, getSubscription, listInvoices, reconcile, syncCustomer } from '../src/index.ts';
import { type Harness, harness, pay } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(() => h.close());

describe('reconciliation', () => {
  it('repairs a mirror that missed every webhook, reports the drift, and finds none the second time', async () => {
    const users = [];
    for (let i = 0; i < 5; i++) {
      const user = await h.newUser();
      const { session_id } = await createCheckout(h.deps, { user, planId: i % 2 ? 'vip_monthly' : 'premium_monthly' });
      await pay(h, session_id);
      users.push(user);
    }
    await h.control('POST', '/clock/advance', { seconds: 31 * 86_400 });
    for (const user of users) expect((await getSubscription(h.deps, user)).tier).toBe('free');

    const first = await reconcile(h.deps, { requestsPerSecond: 200 });
    expect(first).toMatchObject({
      customers: 5,
      unmatchedCustomers: 0,
      subscriptions: { inserted: 5 },
      invoices: { inserted: 10 },
      drift: 15,
    });
    for (const [i, user] of users.entries()) {
      expect(await getSubscription(h.deps, user)).toMatchObject({ tier: i % 2 ? 'vip_monthly' : 'premium_monthly', status: 'active' });
      expect((await listInvoices(h.deps, user)).map((inv) => inv.status)).toEqual(['paid', 'paid']);
    }
    const second = await reconcile(h.deps, { requestsPerSecond: 200 });
    expect(second.drift).toBe(0);
    expect(second.subscriptions.unchanged).toBe(5);
  });

  it('syncCustomer cancels a second live subscription at once (two subscriptions never stay live)', async () => {
    const user = await h.newUser();
    const { session_id } = await createCheckout(h.deps, { user, planId: 'premium_monthly' });
    await pay(h, session_id);
    const customer = h.emulator.state.checkout.get(session_id).customer as string;
    // A second subscription created outside our checkout (e.g. by an operator in the Dashboard).
    await h.deps.stripe.subscriptions.create({ customer, items: [{ price: 'price_vip_monthly' }] });
    const result = await syncCustomer(h.deps, customer);
    expect(result.duplicatesCanceled).toBe(1);
    const live = [...h.emulator.state.subscriptions.values()].filter((s) => s.customer === customer && s.status === 'active');
    expect(live).toHaveLength(1);
    expect(live[0]?.items.data[0]?.price.id).toBe('price_premium_monthly');
    expect((await getSubscription(h.deps, user)).tier).toBe('premium_monthly');
  });
});
