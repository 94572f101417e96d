import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billingState, createCheckout, entitlementsOf, getSubscription, refundLastPayment, type User } from '../src/index.ts';
import { type Harness, harness, pay } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  // Webhooks on: refunds and disputes reach us as Stripe sends them, whoever caused them.
  h = await harness({ webhooks: true });
});
afterAll(() => h.close());

/** A person paying for a plan, everything applied; their payment's charge. */
async function paying(plan = 'vip_monthly'): Promise<{ user: User; charge: string; subscription: string }> {
  const user = await h.newUser();
  const { session_id } = await createCheckout(h.deps, { user, planId: plan });
  await pay(h, session_id);
  await h.settle();
  const session = h.emulator.state.checkout.get(session_id);
  const charge = [...h.emulator.state.charges.values()].find((c) => c.customer === session.customer);
  if (!charge) throw new Error('no charge');
  expect(await getSubscription(h.deps, user)).toMatchObject({ tier: plan, has_access: true });
  return { user, charge: charge.id, subscription: session.subscription as string };
}

const row = (charge: string) =>
  h.deps.db.selectFrom('payment_charges').selectAll().where('stripe_charge_id', '=', charge).executeTakeFirst();

describe('money back: the written policy', () => {
  it('a refund in full (from Stripe’s dashboard) ends access at once and cancels the subscription', async () => {
    const { user, charge, subscription } = await paying();
    await h.deps.stripe.refunds.create({ charge });
    await h.settle();
    expect(await getSubscription(h.deps, user)).toMatchObject({ has_access: false, status: 'canceled' });
    expect(h.emulator.state.getSubscription(subscription).status).toBe('canceled');
    expect(await row(charge)).toMatchObject({
      refunded: true,
      amount_refunded: 9900,
      access_ended: 'refunded',
      stripe_subscription_id: subscription,
    });
    expect(await entitlementsOf(h.deps, user)).toMatchObject({ plan_id: 'free', has_access: false });
    const notice = await h.deps.db
      .selectFrom('billing_notifications')
      .select('kind')
      .where('user_id', '=', user.id)
      .where('kind', '=', 'refunded')
      .execute();
    expect(notice).toHaveLength(1);
  });

  it('a partial refund (a goodwill credit) keeps access', async () => {
    const { user, charge, subscription } = await paying();
    await h.deps.stripe.refunds.create({ charge, amount: 1000 });
    await h.settle();
    expect(await getSubscription(h.deps, user)).toMatchObject({ has_access: true, status: 'active' });
    expect(h.emulator.state.getSubscription(subscription).status).toBe('active');
    expect(await row(charge)).toMatchObject({ refunded: false, amount_refunded: 1000, access_ended: null });
  });

  it('a dispute opened keeps access and flags the person; lost, it ends access', async () => {
    const { user, charge, subscription } = await paying();
    const opened = await h.control('POST', `/charges/${charge}/dispute`, { reason: 'fraudulent' });
    expect(opened.status).toBe(200);
    await h.settle();
    expect(await entitlementsOf(h.deps, user)).toMatchObject({ has_access: true, plan_id: 'vip_monthly', flags: ['dispute_open'] });
    expect(await row(charge)).toMatchObject({ stripe_dispute_id: opened.body.id, dispute_status: 'needs_response', access_ended: null });

    await h.control('POST', `/disputes/${opened.body.id}/close`, { outcome: 'lost' });
    await h.settle();
    expect(await entitlementsOf(h.deps, user)).toMatchObject({ has_access: false, plan_id: 'free', flags: ['dispute_lost'] });
    expect(h.emulator.state.getSubscription(subscription).status).toBe('canceled');
    expect(await row(charge)).toMatchObject({ dispute_status: 'lost', access_ended: 'dispute_lost' });
  });

  it('a dispute won clears the flag and keeps access', async () => {
    const { user, charge } = await paying();
    const opened = await h.control('POST', `/charges/${charge}/dispute`, {});
    await h.settle();
    await h.control('POST', `/disputes/${opened.body.id}/close`, { outcome: 'won' });
    await h.settle();
    expect(await entitlementsOf(h.deps, user)).toMatchObject({ has_access: true, flags: [] });
  });

  it('a dispute of a payment that is not ours is acknowledged and ignored', async () => {
    const stranger = await h.deps.stripe.customers.create({});
    const sub = await h.deps.stripe.subscriptions.create({ customer: stranger.id, items: [{ price: 'price_vip_monthly' }] });
    const charge = [...h.emulator.state.charges.values()].find((c) => c.customer === stranger.id);
    await h.control('POST', `/charges/${charge?.id}/dispute`, {});
    await h.settle();
    const events = await h.deps.db
      .selectFrom('stripe_events')
      .select(['type', 'status'])
      .where('type', '=', 'charge.dispute.created')
      .execute();
    expect(events.every((e) => e.status === 'processed' || e.status === 'ignored')).toBe(true);
    expect(h.emulator.state.getSubscription(sub.id).status).toBe('active');
    expect(await row(charge?.id as string)).toBeUndefined();
  });
});

describe('an operator refunds the last payment', () => {
  it('in full: access ends at once; a retry refunds nothing more', async () => {
    const { user, charge } = await paying();
    const result = await refundLastPayment(h.deps, user, { requestedBy: 'support' });
    expect(result).toMatchObject({ rail: 'stripe', payment_id: charge, amount: 9900, currency: 'usd', access_ended: true });
    expect(result.subscription).toMatchObject({ has_access: false });
    const again = await refundLastPayment(h.deps, user, { requestedBy: 'support' });
    expect(again.payment_id).toBe(charge);
    expect([...h.emulator.state.refunds.values()].filter((r) => r.charge === charge)).toHaveLength(1);
    await h.settle();
    expect(await row(charge)).toMatchObject({ refunded: true, access_ended: 'refunded' });
  });

  it('in part: access stays unless cancel is asked', async () => {
    const kept = await paying();
    expect(await refundLastPayment(h.deps, kept.user, { amount: 500, requestedBy: 'support' })).toMatchObject({
      amount: 500,
      access_ended: false,
    });
    expect(await getSubscription(h.deps, kept.user)).toMatchObject({ has_access: true });
    const ended = await paying();
    expect(await refundLastPayment(h.deps, ended.user, { amount: 500, cancel: true, requestedBy: 'support' })).toMatchObject({
      access_ended: true,
    });
    expect(await getSubscription(h.deps, ended.user)).toMatchObject({ has_access: false });
  });

  it('with nothing paid, says so (NOTHING_TO_REFUND)', async () => {
    const user = await h.newUser();
    await expect(refundLastPayment(h.deps, user, { requestedBy: 'support' })).rejects.toMatchObject({ code: 'NOTHING_TO_REFUND' });
  });

  it('more than is left is refused by name', async () => {
    const { user } = await paying();
    await expect(refundLastPayment(h.deps, user, { amount: 1_000_000, requestedBy: 'support' })).rejects.toMatchObject({
      code: 'NOTHING_TO_REFUND',
    });
  });
});

describe("the operator's view", () => {
  it('shows the mirror and Stripe side by side, the events and the payments back, and names a difference', async () => {
    const { user, charge, subscription } = await paying();
    await h.deps.stripe.refunds.create({ charge, amount: 100 });
    await h.settle();
    const state = await billingState(h.deps, user);
    expect(state.now.subscription).toMatchObject({ tier: 'vip_monthly', has_access: true });
    expect(state.mirror.subscriptions).toEqual([expect.objectContaining({ id: subscription, status: 'active' })]);
    expect(state.stripe?.subscriptions).toEqual([expect.objectContaining({ id: subscription, status: 'active' })]);
    expect(state.mirror.payments).toEqual([expect.objectContaining({ charge_id: charge, amount_refunded: 100, access_ended: null })]);
    expect(state.events.map((e) => e.type)).toContain('charge.refunded');
    expect(state.events.every((e) => e.status === 'processed' || e.status === 'ignored')).toBe(true);
    expect(state.differences).toEqual([]);
    // The mirror drifts (a lost webhook): the view says where.
    await h.deps.db.updateTable('subscriptions').set({ status: 'past_due' }).where('stripe_subscription_id', '=', subscription).execute();
    expect((await billingState(h.deps, user)).differences).toEqual([`${subscription}: the mirror says past_due, Stripe says active`]);
  });
});
