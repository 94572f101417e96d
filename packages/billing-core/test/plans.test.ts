import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingError, FREE_VIEW, getSubscription, parsePriceMap } from '../src/index.ts';
import { type Harness, harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(() => h.close());

describe('plans', () => {
  it('reads amounts, currency and interval from Stripe prices and names features per plan', async () => {
    const plans = await h.deps.plans.list();
    expect(plans.map((p) => [p.plan_id, p.amount, p.currency, p.interval, p.price_usd_monthly])).toEqual([
      ['premium_monthly', 2900, 'usd', 'month', 29],
      ['vip_monthly', 9900, 'usd', 'month', 99],
      ['enterprise_monthly', 29900, 'usd', 'month', 299],
    ]);
    expect(plans[0]?.name).toBe('Premium');
    expect(plans[0]?.features.length).toBeGreaterThan(0);
  });

  it('caches the catalog: a second read makes no Stripe call', async () => {
    const before = h.emulator.requests.length;
    await h.deps.plans.list();
    await h.deps.plans.get('vip_monthly');
    expect(h.emulator.requests.length).toBe(before);
  });

  it('refuses an unknown plan by name', async () => {
    await expect(h.deps.plans.get('gold')).rejects.toMatchObject({ code: 'UNKNOWN_PLAN', message: 'Unknown plan: gold' });
  });

  it.each([
    ['not json', 'not valid JSON'],
    ['[]', 'invalid'],
    ['{}', 'at least one plan'],
    ['{"Premium":"price_1"}', 'at "Premium"'],
    ['{"premium":"prod_1"}', 'price ids start with price_'],
    ['{"free":"price_1"}', 'must not define "free"'],
    ['{"a":"price_1","b":"price_1"}', 'same price'],
  ])('STRIPE_PRICE_MAP_JSON %s is refused with a message naming the problem', (json, message) => {
    expect(() => parsePriceMap(json)).toThrow(BillingError);
    expect(() => parsePriceMap(json)).toThrow(message);
  });

  it('a person with no subscription is on the free plan', async () => {
    const user = await h.newUser();
    expect(await getSubscription(h.deps, user)).toEqual(FREE_VIEW);
    expect(FREE_VIEW).toMatchObject({ tier: 'free', status: 'inactive', current_period_end: null, price_usd_monthly: 0 });
  });
});
