import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accessOf,
  cancelAtPeriodEnd,
  changePlan,
  confirmCheckout,
  createCheckout,
  getSubscription,
  invoiceBadge,
  listInvoices,
  resume,
  returnFromPortal,
  type User,
} from '../src/index.ts';
import { currentSubscription } from '../src/subscriptions/get-subscription.ts';
import { type Harness, harness, pay } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(() => h.close());

async function subscribed(plan = 'premium_monthly'): Promise<User> {
  const user = await h.newUser();
  const { session_id } = await createCheckout(h.deps, { user, planId: plan });
  await pay(h, session_id);
  await confirmCheckout(h.deps, { user, sessionId: session_id });
  return user;
}

describe('managing a subscription', () => {
  it('changes plan with proration billed at once', async () => {
    const user = await subscribed();
    const view = await changePlan(h.deps, { user, planId: 'vip_monthly' });
    expect(view).toMatchObject({ tier: 'vip_monthly', status: 'active', price_usd_monthly: 99 });
    const invoices = await listInvoices(h.deps, user);
    expect(invoices).toHaveLength(2);
    // Both invoices can share a second; the proration is the one above the first payment.
    expect(Math.max(...invoices.map((i) => i.amount_paid))).toBeGreaterThan(6900);
    // Each says what it was for: the first payment, and the change (its largest line is the new plan).
    expect(invoices.map((i) => i.description).sort()).toEqual(['Change to VIP (prorated)', 'Premium · monthly']);
    await expect(changePlan(h.deps, { user, planId: 'vip_monthly' })).rejects.toMatchObject({ code: 'SAME_PLAN' });
    await expect(changePlan(h.deps, { user, planId: 'gold' })).rejects.toMatchObject({ code: 'UNKNOWN_PLAN' });
  });

  it('the return from the portal shows what was done there at once, with no webhook delivered', async () => {
    const user = await subscribed();
    const before = await getSubscription(h.deps, user);
    expect(before).toMatchObject({ tier: 'premium_monthly', cancel_at_period_end: false });
    // In the portal, the person cancels: Stripe changes; no webhook reaches us in this harness.
    await h.deps.stripe.subscriptions.update(before.subscription_id as string, { cancel_at_period_end: true });
    expect(await getSubscription(h.deps, user)).toMatchObject({ cancel_at_period_end: false });
    const after = await returnFromPortal(h.deps, { user });
    expect(after).toMatchObject({ tier: 'premium_monthly', cancel_at_period_end: true, has_access: true });
    expect(await getSubscription(h.deps, user)).toEqual(after);
    // A person who never had a customer is answered from the database, with no Stripe call.
    const stranger = await h.newUser();
    const calls = h.emulator.requests.length;
    expect(await returnFromPortal(h.deps, { user: stranger })).toMatchObject({ tier: 'free' });
    expect(h.emulator.requests.length).toBe(calls);
  });

  it('cancels at period end keeping access, and resumes', async () => {
    const user = await subscribed();
    const canceled = await cancelAtPeriodEnd(h.deps, { user });
    expect(canceled).toMatchObject({ status: 'active', cancel_at_period_end: true, has_access: true });
    expect(canceled.cancel_at).toBe(canceled.current_period_end);
    const resumed = await resume(h.deps, { user });
    expect(resumed).toMatchObject({ cancel_at_period_end: false, cancel_at: null });
  });

  it('refuses to manage what does not exist', async () => {
    const user = await h.newUser();
    await expect(changePlan(h.deps, { user, planId: 'vip_monthly' })).rejects.toMatchObject({ code: 'NO_SUBSCRIPTION' });
    await expect(cancelAtPeriodEnd(h.deps, { user })).rejects.toMatchObject({ code: 'NO_SUBSCRIPTION' });
  });
});

describe('access policy', () => {
  const now = new Date('2026-06-15T00:00:00Z');
  const start = new Date('2026-06-01T00:00:00Z');
  const end = new Date('2026-07-01T00:00:00Z');
  const day = 86_400;

  it.each([
    ['active', true],
    ['trialing', true],
    ['incomplete', false],
    ['unpaid', false],
    ['canceled', false],
    ['paused', false],
  ])('%s has access: %s', (status, expected) => {
    expect(accessOf({ status, current_period_start: start, current_period_end: end }, now, 3 * day).hasAccess).toBe(expected);
  });

  it('past_due keeps access for the grace window after the period began', () => {
    const row = { status: 'past_due', current_period_start: new Date('2026-06-13T00:00:00Z'), current_period_end: end };
    expect(accessOf(row, now, 3 * day)).toEqual({ hasAccess: true, until: new Date('2026-06-16T00:00:00Z') });
    expect(accessOf(row, now, 1 * day).hasAccess).toBe(false);
  });

  it('a first payment that has not gone through is never the current plan', () => {
    const rows = [
      { status: 'incomplete', stripe_created: 20 },
      { status: 'canceled', stripe_created: 10 },
    ];
    expect(currentSubscription(rows)).toEqual({ status: 'canceled', stripe_created: 10 });
    expect(currentSubscription([{ status: 'incomplete', stripe_created: 20 }])).toBeUndefined();
  });

  it('an active subscription past its period end has no access', () => {
    expect(accessOf({ status: 'active', current_period_start: start, current_period_end: start }, now, 0).hasAccess).toBe(false);
  });

  it('a subscription past due in Stripe shows past_due with the grace window in the view', async () => {
    const user = await subscribed();
    const customer = (
      await h.deps.db.selectFrom('stripe_customers').select('stripe_customer_id').where('user_id', '=', user.id).executeTakeFirstOrThrow()
    ).stripe_customer_id;
    await h.control('POST', `/customers/${customer}/card`, { fails: true });
    await h.control('POST', '/clock/advance', { seconds: 31 * day });
    const { syncCustomer } = await import('../src/index.ts');
    await syncCustomer(h.deps, customer);
    const view = await getSubscription({ ...h.deps, clock: { now: () => new Date(Date.now() + 31 * day * 1000) } }, user);
    expect(view).toMatchObject({ status: 'past_due', has_access: true });
    // "Fix payment" leads where the open invoice can be paid: its hosted page.
    const open = await h.deps.db
      .selectFrom('invoices')
      .select('hosted_invoice_url')
      .where('user_id', '=', user.id)
      .where('stripe_status', '=', 'open')
      .executeTakeFirstOrThrow();
    expect(open.hosted_invoice_url).toMatch(/^http/);
    expect(view.payment_url).toBe(open.hosted_invoice_url);
    const late = await getSubscription({ ...h.deps, clock: { now: () => new Date(Date.now() + 40 * day * 1000) } }, user);
    expect(late.has_access).toBe(false);
  });
});

describe('invoice badges', () => {
  const now = new Date('2026-06-15T00:00:00Z');
  it.each([
    [{ stripe_status: 'paid', due_date: null, attempt_count: 1 }, 'paid'],
    [{ stripe_status: 'open', due_date: null, attempt_count: 0 }, 'open'],
    [{ stripe_status: 'open', due_date: Date.parse('2026-06-01') / 1000, attempt_count: 0 }, 'past_due'],
    [{ stripe_status: 'open', due_date: Date.parse('2026-07-01') / 1000, attempt_count: 0 }, 'open'],
    [{ stripe_status: 'open', due_date: null, attempt_count: 1 }, 'past_due'],
    [{ stripe_status: 'draft', due_date: null, attempt_count: 0 }, 'draft'],
    [{ stripe_status: 'void', due_date: null, attempt_count: 0 }, 'canceled'],
    [{ stripe_status: 'uncollectible', due_date: null, attempt_count: 2 }, 'uncollectible'],
    // A first payment that did not go through is not past due: nothing was given on credit.
    [{ stripe_status: 'open', due_date: null, attempt_count: 1, billing_reason: 'subscription_create' }, 'open'],
    [{ stripe_status: 'open', due_date: null, attempt_count: 1, billing_reason: 'subscription_cycle' }, 'past_due'],
  ])('%o shows %s', (row, badge) => {
    expect(invoiceBadge({ billing_reason: null, ...row }, now)).toBe(badge);
  });

  it('paginates newest first with a cursor, and refuses another person’s cursor', async () => {
    const user = await subscribed();
    await changePlan(h.deps, { user, planId: 'vip_monthly' });
    await changePlan(h.deps, { user, planId: 'enterprise_monthly' });
    const all = await listInvoices(h.deps, user, { limit: 10 });
    expect(all).toHaveLength(3);
    expect([...all].sort((a, b) => b.created - a.created || (b.id > a.id ? 1 : -1)).map((i) => i.id)).toEqual(all.map((i) => i.id));
    const page1 = await listInvoices(h.deps, user, { limit: 2 });
    const page2 = await listInvoices(h.deps, user, { limit: 2, startingAfter: page1.at(-1)?.id });
    expect([...page1, ...page2].map((i) => i.id)).toEqual(all.map((i) => i.id));
    const other = await subscribed();
    await expect(listInvoices(h.deps, other, { startingAfter: all[0]?.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
