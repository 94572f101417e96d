import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmCheckout, createCheckout, entitlementsOf, getSubscription, listInvoices } from '../src/index.ts';
import { type Harness, harness, pay } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness();
  const coupon = await h.deps.stripe.coupons.create({ percent_off: 20, duration: 'once' });
  await h.deps.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'SPRING20' });
  const retired = await h.deps.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'WINTER20' });
  await h.deps.stripe.promotionCodes.update(retired.id, { active: false });
});
afterAll(() => h.close());

const charges = (customer: string) => [...h.emulator.state.charges.values()].filter((c) => c.customer === customer);

describe('checkout options', () => {
  it('a plan with a trial starts trialing with no charge, and gives its entitlements', async () => {
    const user = await h.newUser('Tess');
    const { session_id } = await createCheckout(h.deps, { user, planId: 'premium_yearly' });
    const session = h.emulator.state.checkout.get(session_id);
    expect(session.amount_total).toBe(0);
    await pay(h, session_id);
    await confirmCheckout(h.deps, { user, sessionId: session_id });
    const view = await getSubscription(h.deps, user);
    expect(view).toMatchObject({ tier: 'premium_yearly', status: 'trialing', has_access: true, interval: 'year' });
    // The trial ends 14 days on; nothing was charged.
    expect(Date.parse(view.current_period_end as string) - Date.now()).toBeGreaterThan(13 * 86_400_000);
    expect(Date.parse(view.current_period_end as string) - Date.now()).toBeLessThan(15 * 86_400_000);
    expect(charges(session.customer as string)).toEqual([]);
    expect((await listInvoices(h.deps, user))[0]).toMatchObject({ amount_paid: 0 });
    expect(await entitlementsOf(h.deps, user)).toMatchObject({ plan_id: 'premium_yearly', status: 'trialing', has_access: true });
  });

  it('a trial is for a first subscription only', async () => {
    const user = await h.newUser();
    const first = await createCheckout(h.deps, { user, planId: 'premium_monthly' });
    await pay(h, first.session_id);
    await confirmCheckout(h.deps, { user, sessionId: first.session_id });
    const sub = (await getSubscription(h.deps, user)).subscription_id as string;
    await h.deps.stripe.subscriptions.cancel(sub);
    await h.deps.db.updateTable('subscriptions').set({ status: 'canceled' }).where('stripe_subscription_id', '=', sub).execute();
    const again = await createCheckout(h.deps, { user, planId: 'premium_yearly' });
    expect(h.emulator.state.checkout.get(again.session_id).amount_total).toBe(29_000);
  });

  it('a promotion code the person typed lowers the first invoice, and only the first', async () => {
    const user = await h.newUser();
    const { session_id } = await createCheckout(h.deps, { user, planId: 'vip_monthly', promotionCode: 'spring20' });
    const session = h.emulator.state.checkout.get(session_id);
    expect(session.amount_total).toBe(7920);
    await pay(h, session_id);
    await confirmCheckout(h.deps, { user, sessionId: session_id });
    const [invoice] = await listInvoices(h.deps, user);
    expect(invoice).toMatchObject({ amount_paid: 7920 });
    expect(charges(session.customer as string).map((c) => c.amount)).toEqual([7920]);
  });

  it.each([
    ['an unknown code', 'NOPE'],
    ['an inactive code', 'WINTER20'],
    ['a malformed code', 'bad code!'],
  ])('%s is refused with 422 PROMOTION_CODE_INVALID before any session is made', async (_what, code) => {
    const user = await h.newUser();
    const sessionsBefore = h.emulator.state.checkoutSessions.size;
    await expect(createCheckout(h.deps, { user, planId: 'vip_monthly', promotionCode: code })).rejects.toMatchObject({
      code: 'PROMOTION_CODE_INVALID',
      message: expect.stringContaining('not valid'),
    });
    expect(h.emulator.state.checkoutSessions.size).toBe(sessionsBefore);
  });

  it('without a code, the person may type one on Stripe’s page', async () => {
    const user = await h.newUser();
    const { session_id } = await createCheckout(h.deps, { user, planId: 'vip_monthly' });
    expect(h.emulator.state.checkout.get(session_id).allow_promotion_codes).toBe(true);
    const res = await h.control('POST', `/checkout/sessions/${session_id}/complete`, { promotion_code: 'SPRING20' });
    expect(res.status).toBe(200);
    await confirmCheckout(h.deps, { user, sessionId: session_id });
    expect((await listInvoices(h.deps, user))[0]).toMatchObject({ amount_paid: 7920 });
  });

  it('a yearly price is sold as its own plan', async () => {
    const user = await h.newUser();
    const { session_id } = await createCheckout(h.deps, { user, planId: 'vip_yearly' });
    await pay(h, session_id);
    await confirmCheckout(h.deps, { user, sessionId: session_id });
    expect(await getSubscription(h.deps, user)).toMatchObject({
      tier: 'vip_yearly',
      interval: 'year',
      amount: 99_000,
      price_usd_monthly: 83,
    });
  });

  it('the email and name given at checkout are kept on the Stripe customer, and the email on the person', async () => {
    const user = await h.newUser('Old Name');
    const { session_id } = await createCheckout(h.deps, { user, planId: 'vip_monthly', email: 'pay@example.com', name: 'Paula Payer' });
    const customer = h.emulator.state.getCustomer(h.emulator.state.checkout.get(session_id).customer as string);
    expect(customer).toMatchObject({ email: 'pay@example.com', name: 'Paula Payer' });
    const row = await h.deps.db.selectFrom('users').select('email').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.email).toBe('pay@example.com');
  });

  it('an email learned after the customer exists is given to it', async () => {
    const user = await h.newUser();
    await createCheckout(h.deps, { user, planId: 'vip_monthly' });
    const { session_id } = await createCheckout(h.deps, { user, planId: 'premium_monthly', email: 'late@example.com' });
    const customer = h.emulator.state.getCustomer(h.emulator.state.checkout.get(session_id).customer as string);
    expect(customer.email).toBe('late@example.com');
  });
});

describe('Stripe Tax', () => {
  it('is asked for on every Checkout when on, saving the address entered there to the customer', async () => {
    h.deps.config.automaticTax = true;
    try {
      const user = await h.newUser();
      const { session_id } = await createCheckout(h.deps, { user, planId: 'vip_monthly' });
      const session = h.emulator.state.checkout.get(session_id);
      expect(session.automatic_tax).toMatchObject({ enabled: true, status: 'complete' });
      await pay(h, session_id);
      const sub = h.emulator.state.getSubscription(h.emulator.state.checkout.get(session_id).subscription as string);
      expect(sub.automatic_tax.enabled).toBe(true);
    } finally {
      h.deps.config.automaticTax = false;
    }
  });

  it('the emulator refuses Stripe Tax for a customer with no address unless Checkout saves one, as Stripe does', async () => {
    const customer = await h.deps.stripe.customers.create({});
    const base = {
      mode: 'subscription' as const,
      customer: customer.id,
      line_items: [{ price: 'price_vip_monthly', quantity: 1 }],
      success_url: 'https://app.example.com/ok',
      automatic_tax: { enabled: true },
    };
    await expect(h.deps.stripe.checkout.sessions.create(base)).rejects.toMatchObject({
      statusCode: 400,
      param: 'customer_update[address]',
    });
    await expect(
      h.deps.stripe.subscriptions.create({
        customer: customer.id,
        items: [{ price: 'price_vip_monthly' }],
        automatic_tax: { enabled: true },
      }),
    ).rejects.toMatchObject({ statusCode: 400, code: 'customer_tax_location_invalid' });
    await expect(h.deps.stripe.checkout.sessions.create({ ...base, customer_update: { address: 'auto' } })).resolves.toMatchObject({
      automatic_tax: { enabled: true },
    });
  });
});
