import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingError, FREE_VIEW, getSubscription, parseCatalog } from '../src/index.ts';
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
      ['premium_yearly', 29_000, 'usd', 'year', 24],
      ['vip_yearly', 99_000, 'usd', 'year', 83],
    ]);
    expect(plans[0]?.name).toBe('Premium');
    expect(plans[0]?.features).toEqual(['Unlimited projects', 'Priority support', 'Export to PDF']);
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

  const free = '"free":{"features":{"pdf":false},"limits":{"seats":1}}';
  const plan = (extra: string) => `{"features":{"pdf":true},"limits":{"seats":null}${extra}}`;
  it.each([
    ['not json', 'not valid JSON'],
    ['[]', 'invalid'],
    ['{}', 'at "free"'],
    [`{${free}}`, 'at least one plan besides "free"'],
    [`{${free},"Premium":${plan(',"price":"price_1"')}}`, 'at "Premium"'],
    [`{${free},"premium":${plan(',"price":"prod_1"')}}`, 'price ids start with price_'],
    [`{${free},"premium":${plan('')}}`, 'at "premium.price"'],
    [`{${free},"premium":${plan(',"price":"price_1","trial_days":0')}}`, 'at "premium.trial_days"'],
    [`{${free},"premium":${plan(',"price":"price_1","stars":0')}}`, 'at "premium.stars"'],
    [`{${free},"premium":${plan(',"price":"price_1","colour":"red"')}}`, 'at "premium"'],
    [`{${free},"a":${plan(',"price":"price_1"')},"b":${plan(',"price":"price_1"')}}`, 'same price'],
    [
      `{${free},"a":${plan(',"price":"price_1","highlighted":true')},"b":${plan(',"price":"price_2","highlighted":true')}}`,
      'one plan may be highlighted',
    ],
    [`{${free},"a":{"price":"price_1","features":{"pdf":true},"limits":{}}}`, 'plan "a" must list the same features and limits'],
  ])('PLAN_CATALOG_JSON %s is refused with a message naming the problem', (json, message) => {
    expect(() => parseCatalog(json)).toThrow(BillingError);
    expect(() => parseCatalog(json)).toThrow(message);
  });

  it('PLAN_CATALOG_JSON: each plan carries its price, Stars price, trial and what it gives', () => {
    const catalog = parseCatalog(`{${free},"pro":${plan(',"price":"price_pro","stars":250,"trial_days":14,"highlighted":true')}}`);
    expect(catalog).toEqual({
      free: { features: { pdf: false }, limits: { seats: 1 } },
      plans: {
        pro: { price: 'price_pro', stars: 250, trial_days: 14, highlighted: true, features: { pdf: true }, limits: { seats: null } },
      },
    });
  });

  it('lists monthly and yearly prices with their trials and the highlighted plan, from the catalog and Stripe', async () => {
    const plans = await h.deps.plans.list();
    expect(plans.map((p) => [p.plan_id, p.interval, p.amount, p.trial_days, p.highlighted])).toEqual([
      ['premium_monthly', 'month', 2900, null, false],
      ['vip_monthly', 'month', 9900, null, true],
      ['enterprise_monthly', 'month', 29_900, null, false],
      ['premium_yearly', 'year', 29_000, 14, false],
      ['vip_yearly', 'year', 99_000, null, false],
    ]);
    expect(plans.find((p) => p.plan_id === 'premium_yearly')).toMatchObject({ name: 'Premium', price_usd_monthly: 24 });
  });

  it('a person with no subscription is on the free plan', async () => {
    const user = await h.newUser();
    expect(await getSubscription(h.deps, user)).toEqual(FREE_VIEW);
    expect(FREE_VIEW).toMatchObject({ tier: 'free', status: 'inactive', current_period_end: null, price_usd_monthly: 0 });
  });
});
