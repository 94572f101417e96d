import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../src/index.ts';
import { control, type Receiver, receiver, SECRET, sdk } from './helpers.ts';

let emulator: RunningEmulator;
let stripe: Stripe;
let hook: Receiver;
const DAY = 86_400;

beforeAll(async () => {
  const bootstrap = sdk({ port: 1 } as RunningEmulator);
  hook = await receiver(bootstrap);
  emulator = await startEmulator({ port: 0, webhook: { url: hook.url, secret: SECRET }, webhookOptions: { retryDelaysMs: [10, 20, 40] } });
  stripe = sdk(emulator);
});
afterAll(async () => {
  await emulator.close();
  await hook.close();
});
beforeEach(async () => {
  await emulator.webhooksIdle();
  await control(emulator, 'POST', '/reset');
  hook.events.length = 0;
});

async function paidSubscription(price = 'price_premium_monthly') {
  const customer = await stripe.customers.create({ email: 'life@example.com' });
  const session = await stripe.checkout.sessions.create({
    mode: 'subscription',
    customer: customer.id,
    line_items: [{ price }],
    success_url: 'https://a.example/s',
  });
  const done = await control(emulator, 'POST', `/checkout/sessions/${session.id}/complete`, { outcome: 'succeeded' });
  expect(done.status).toBe(200);
  await emulator.webhooksIdle();
  const sub = await stripe.subscriptions.retrieve(done.body.subscription as string);
  return { customer, session, sub };
}

async function eventsFor(types: string[]) {
  await emulator.webhooksIdle();
  return hook.events.filter((e) => types.includes(e.type));
}

describe('lifecycle', () => {
  it('a paid checkout creates an active subscription and a paid invoice and emits the Stripe events', async () => {
    const { sub } = await paidSubscription();
    expect(sub.status).toBe('active');
    const types = hook.events.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining([
        'checkout.session.completed',
        'customer.subscription.created',
        'invoice.created',
        'invoice.finalized',
        'invoice.paid',
        'invoice.payment_succeeded',
      ]),
    );
    const paid = hook.events.find((e) => e.type === 'invoice.paid')?.data.object as Stripe.Invoice;
    expect(paid).toMatchObject({ status: 'paid', amount_paid: 2900 });
  });

  it('a declined card leaves no subscription and no invoice behind, the session open; paying again activates it', async () => {
    const customer = await stripe.customers.create({});
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      customer: customer.id,
      line_items: [{ price: 'price_premium_monthly' }],
      success_url: 'https://a.example/s',
    });
    const declined = await control(emulator, 'POST', `/checkout/sessions/${session.id}/complete`, { outcome: 'card_declined' });
    expect(declined.body).toMatchObject({ status: 'open', subscription: null });
    expect((await stripe.subscriptions.list({ customer: customer.id, status: 'all' })).data).toHaveLength(0);
    expect((await stripe.invoices.list({ customer: customer.id })).data).toHaveLength(0);
    expect((await eventsFor(['checkout.session.completed', 'customer.subscription.created'])).length).toBe(0);

    const paid = await control(emulator, 'POST', `/checkout/sessions/${session.id}/complete`, {});
    expect(paid.body.status).toBe('complete');
    const subs = (await stripe.subscriptions.list({ customer: customer.id, status: 'all' })).data;
    expect(subs.map((s) => s.status)).toEqual(['active']);
    expect((await stripe.invoices.retrieve(subs[0]?.latest_invoice as string)).status).toBe('paid');
  });

  it('a session nobody paid expires after 24 hours, leaving no subscription', async () => {
    const customer = await stripe.customers.create({});
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      customer: customer.id,
      line_items: [{ price: 'price_premium_monthly' }],
      success_url: 'https://a.example/s',
    });
    await control(emulator, 'POST', `/checkout/sessions/${session.id}/complete`, { outcome: 'card_declined' });
    await control(emulator, 'POST', '/clock/advance', { seconds: 24 * 3600 + 60 });
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('expired');
    expect((await stripe.subscriptions.list({ customer: customer.id, status: 'all' })).data).toHaveLength(0);
  });

  it('advancing the clock renews with a paid invoice and a new period on the items', async () => {
    const { sub } = await paidSubscription();
    const item = sub.items.data[0] as Stripe.SubscriptionItem;
    hook.events.length = 0;
    const advanced = await control(emulator, 'POST', '/clock/advance', { seconds: 32 * DAY });
    expect(advanced.status).toBe(200);
    const renewed = await stripe.subscriptions.retrieve(sub.id);
    const next = renewed.items.data[0] as Stripe.SubscriptionItem;
    expect(next.current_period_start).toBe(item.current_period_end);
    expect(next.current_period_end).toBeGreaterThan(next.current_period_start);
    expect(renewed.status).toBe('active');
    const invoices = await stripe.invoices.list({ subscription: sub.id });
    expect(invoices.data.map((i) => i.billing_reason)).toEqual(['subscription_cycle', 'subscription_create']);
    expect(invoices.data[0]?.status).toBe('paid');
    const types = (await eventsFor(['customer.subscription.updated', 'invoice.paid'])).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['customer.subscription.updated', 'invoice.paid']));
  });

  it('a failing card at renewal makes the subscription past_due; a later retry with a good card recovers it', async () => {
    const { sub, customer } = await paidSubscription();
    expect((await control(emulator, 'POST', `/customers/${customer.id}/card`, { fails: true })).status).toBe(200);
    hook.events.length = 0;
    await control(emulator, 'POST', '/clock/advance', { seconds: 31 * DAY });
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('past_due');
    const failed = await eventsFor(['invoice.payment_failed']);
    expect(failed).toHaveLength(1);
    const updated = (await eventsFor(['customer.subscription.updated'])).map((e) => (e.data.object as Stripe.Subscription).status);
    expect(updated).toContain('past_due');

    await control(emulator, 'POST', `/customers/${customer.id}/card`, { fails: false });
    await control(emulator, 'POST', '/clock/advance', { seconds: 3 * DAY });
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('active');
  });

  it('ends a subscription set to cancel at period end with customer.subscription.deleted', async () => {
    const { sub } = await paidSubscription();
    await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
    hook.events.length = 0;
    await control(emulator, 'POST', '/clock/advance', { seconds: 40 * DAY });
    const ended = await stripe.subscriptions.retrieve(sub.id);
    expect(ended.status).toBe('canceled');
    expect((await eventsFor(['customer.subscription.deleted'])).length).toBe(1);
    expect((await stripe.invoices.list({ subscription: sub.id })).data).toHaveLength(1);
  });

  it('every subscription change emits customer.subscription.updated with previous_attributes', async () => {
    const { sub } = await paidSubscription();
    hook.events.length = 0;
    await stripe.subscriptions.update(sub.id, { metadata: { note: 'x' } });
    await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
    const updates = await eventsFor(['customer.subscription.updated']);
    expect(updates).toHaveLength(2);
    expect(updates[1]?.data.previous_attributes).toMatchObject({ cancel_at_period_end: false });
  });

  it('prorations from a mid-period change are added to the next renewal invoice', async () => {
    const { sub } = await paidSubscription();
    await control(emulator, 'POST', '/clock/advance', { seconds: 10 * DAY });
    await stripe.subscriptions.update(sub.id, { items: [{ id: sub.items.data[0]?.id as string, price: 'price_vip_monthly' }] });
    await control(emulator, 'POST', '/clock/advance', { seconds: 25 * DAY });
    const [renewal] = (await stripe.invoices.list({ subscription: sub.id, limit: 1 })).data;
    expect(renewal?.billing_reason).toBe('subscription_cycle');
    // Itemised as on Stripe: unused time on Premium (credit), remaining time on VIP, then the new period.
    expect(renewal?.lines.data.map((l) => Math.sign(l.amount))).toEqual([-1, 1, 1]);
    expect(renewal?.lines.data[0]?.description).toMatch(/^Unused time on Premium after /);
    expect(renewal?.lines.data[1]?.description).toMatch(/^Remaining time on VIP after /);
    expect(renewal?.amount_due).toBeGreaterThan(9900);
    expect(renewal?.amount_due).toBeLessThan(9900 + 7000);
  });

  it('control API answers bad input with Stripe-shaped errors', async () => {
    expect((await control(emulator, 'POST', '/checkout/sessions/cs_test_nope/complete', {})).status).toBe(404);
    expect((await control(emulator, 'POST', '/clock/advance', { seconds: 'x' })).status).toBe(400);
    expect((await control(emulator, 'POST', '/customers/cus_nope/card', { fails: true })).status).toBe(404);
    expect((await control(emulator, 'POST', '/faults', { path: '/v1/customers' })).status).toBe(400);
  });
});
