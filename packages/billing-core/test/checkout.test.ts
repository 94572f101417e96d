import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelCheckout, confirmCheckout, createCheckout, createPortal, getSubscription, listInvoices } from '../src/index.ts';
import { type Harness, harness, pay, sessionsCreated } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  // No webhooks at all: everything here must work from the return to the app alone.
  h = await harness();
});
afterAll(() => h.close());

const customerCount = async (userId: string) => {
  const rows = await h.deps.db.selectFrom('stripe_customers').selectAll().where('user_id', '=', userId).execute();
  const remote = [...h.emulator.state.customers.values()].filter((c) => c.metadata.user_id === userId);
  return { rows: rows.length, stripe: remote.length };
};

describe('createCheckout', () => {
  it('opens a subscription checkout with the customer, references and metadata set', async () => {
    const user = await h.newUser('Ann');
    const result = await createCheckout(h.deps, { user, planId: 'premium_monthly' });
    expect(result.url).toBe(`${h.emulator.url}/checkout/${result.session_id}`);
    const session = h.emulator.state.checkout.get(result.session_id);
    const customer = h.emulator.state.getCustomer(session.customer as string);
    expect(customer.metadata.user_id).toBe(user.id);
    expect(customer.email).toBeNull();
    expect(session).toMatchObject({
      client_reference_id: user.id,
      metadata: { user_id: user.id, plan_id: 'premium_monthly' },
      success_url: 'https://app.example.com/billing/success?session_id={CHECKOUT_SESSION_ID}',
      cancel_url: 'https://app.example.com/billing/cancel',
      amount_total: 2900,
    });
    const row = await h.deps.db
      .selectFrom('checkout_sessions')
      .selectAll()
      .where('stripe_session_id', '=', result.session_id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ user_id: user.id, plan_id: 'premium_monthly', status: 'open' });
  });

  it('refuses an unknown plan before touching Stripe', async () => {
    const user = await h.newUser();
    const before = h.emulator.requests.length;
    await expect(createCheckout(h.deps, { user, planId: 'gold' })).rejects.toMatchObject({
      code: 'UNKNOWN_PLAN',
      message: expect.stringContaining('Unknown plan'),
    });
    expect(h.emulator.requests.length).toBe(before);
  });

  it.each([
    ['https://evil.com/x', false],
    ['//evil.com', false],
    ['https://app.example.com.evil.com/', false],
    ['https://app.example.com@evil.com/', false],
    ['https://app.example.com\\@evil.com', false],
    ['javascript:alert(1)', false],
    ['http://app.example.com/billing', false],
    ['https://app.example.com:444/billing', false],
    ['https://аpp.example.com/billing', false],
    ['https://app.example.com/ok?session_id={CHECKOUT_SESSION_ID}', true],
    ['http://localhost:5173/billing/success?session_id={CHECKOUT_SESSION_ID}', true],
  ])('success_url %s allowed: %s', async (url, allowed) => {
    const user = await h.newUser();
    const attempt = createCheckout(h.deps, { user, planId: 'premium_monthly', successUrl: url });
    if (allowed) {
      const r = await attempt;
      expect(h.emulator.state.checkout.get(r.session_id).success_url).toBe(url);
    } else {
      await expect(attempt).rejects.toMatchObject({ code: 'INVALID_REDIRECT' });
    }
  });

  it('creates exactly one Stripe customer for 50 concurrent checkouts of a new user', async () => {
    const user = await h.newUser('Racer');
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => createCheckout(h.deps, { user, planId: 'vip_monthly' })));
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(50);
    expect(await customerCount(user.id)).toEqual({ rows: 1, stripe: 1 });
    // One session: later calls reuse the identical open one.
    const ids = new Set(results.map((r) => (r.status === 'fulfilled' ? r.value.session_id : '')));
    expect(ids.size).toBe(1);
  });

  it('replays the same session for the same Idempotency-Key and refuses the key for another request', async () => {
    const user = await h.newUser();
    const a = await createCheckout(h.deps, { user, planId: 'premium_monthly', idempotencyKey: 'k-1' });
    const b = await createCheckout(h.deps, { user, planId: 'premium_monthly', idempotencyKey: 'k-1' });
    expect(b).toEqual({ ...a, replayed: true });
    await expect(createCheckout(h.deps, { user, planId: 'vip_monthly', idempotencyKey: 'k-1' })).rejects.toMatchObject({
      code: 'IDEMPOTENCY_CONFLICT',
    });
  });

  it('refuses a second checkout while a subscription is active, creating no session', async () => {
    const user = await h.newUser();
    const first = await createCheckout(h.deps, { user, planId: 'premium_monthly' });
    await pay(h, first.session_id);
    const before = sessionsCreated(h);
    // Even before anything reached our database (no webhook, no confirm), Stripe is asked.
    await expect(createCheckout(h.deps, { user, planId: 'vip_monthly' })).rejects.toMatchObject({
      code: 'SUBSCRIPTION_EXISTS',
      message: expect.stringContaining('change your plan'),
    });
    await confirmCheckout(h.deps, { user, sessionId: first.session_id });
    await expect(createCheckout(h.deps, { user, planId: 'vip_monthly' })).rejects.toMatchObject({ code: 'SUBSCRIPTION_EXISTS' });
    expect(sessionsCreated(h)).toBe(before);
  });

  it('two tabs: the older session is expired when another opens, so only one can be paid', async () => {
    const user = await h.newUser();
    const tab1 = await createCheckout(h.deps, { user, planId: 'premium_monthly' });
    const tab2 = await createCheckout(h.deps, { user, planId: 'vip_monthly' });
    expect(tab2.session_id).not.toBe(tab1.session_id);
    await pay(h, tab2.session_id);
    const res = await h.control('POST', `/checkout/sessions/${tab1.session_id}/complete`, {});
    expect(res.status).toBe(400);
    const customer = (
      await h.deps.db.selectFrom('stripe_customers').select('stripe_customer_id').where('user_id', '=', user.id).executeTakeFirstOrThrow()
    ).stripe_customer_id;
    const live = [...h.emulator.state.subscriptions.values()].filter((s) => s.customer === customer && s.status === 'active');
    expect(live).toHaveLength(1);
  });
});

describe('confirmCheckout', () => {
  it('shows the plan active on the first call after payment, with no webhook at all', async () => {
    const user = await h.newUser();
    const { session_id } = await createCheckout(h.deps, { user, planId: 'vip_monthly' });
    expect((await getSubscription(h.deps, user)).tier).toBe('free');
    await pay(h, session_id);
    const confirmed = await confirmCheckout(h.deps, { user, sessionId: session_id });
    expect(confirmed.message).toBe('Plan activated');
    expect(confirmed.subscription).toMatchObject({
      tier: 'vip_monthly',
      status: 'active',
      price_usd_monthly: 99,
      has_access: true,
      cancel_at_period_end: false,
    });
    expect(Date.parse(confirmed.subscription.current_period_end as string)).toBeGreaterThan(Date.now());
    const invoices = await listInvoices(h.deps, user);
    expect(invoices).toHaveLength(1);
    expect(invoices[0]).toMatchObject({ status: 'paid', amount_paid: 9900, currency: 'usd' });
    expect(invoices[0]?.pdf_url).toMatch(/\/pdf$/);
  });

  it('confirm with another person’s session is refused as not found and changes nothing', async () => {
    const owner = await h.newUser();
    const intruder = await h.newUser();
    const { session_id } = await createCheckout(h.deps, { user: owner, planId: 'premium_monthly' });
    await pay(h, session_id);
    await expect(confirmCheckout(h.deps, { user: intruder, sessionId: session_id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(cancelCheckout(h.deps, { user: intruder, sessionId: session_id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await getSubscription(h.deps, intruder)).tier).toBe('free');
    const rows = await h.deps.db.selectFrom('subscriptions').selectAll().where('user_id', '=', intruder.id).execute();
    expect(rows).toHaveLength(0);
    await expect(confirmCheckout(h.deps, { user: intruder, sessionId: 'cs_test_madeup' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('10 concurrent confirms store one subscription and agree', async () => {
    const user = await h.newUser();
    const { session_id } = await createCheckout(h.deps, { user, planId: 'premium_monthly' });
    await pay(h, session_id);
    const results = await Promise.all(Array.from({ length: 10 }, () => confirmCheckout(h.deps, { user, sessionId: session_id })));
    expect(new Set(results.map((r) => r.subscription.subscription_id)).size).toBe(1);
    const rows = await h.deps.db.selectFrom('subscriptions').selectAll().where('user_id', '=', user.id).execute();
    expect(rows).toHaveLength(1);
    const notes = await h.deps.db.selectFrom('billing_notifications').selectAll().where('user_id', '=', user.id).execute();
    expect(notes.filter((n) => n.kind === 'plan_activated')).toHaveLength(1);
  });

  it('an unpaid session reports that payment has not completed; cancel expires it', async () => {
    const user = await h.newUser();
    const { session_id } = await createCheckout(h.deps, { user, planId: 'premium_monthly' });
    expect((await confirmCheckout(h.deps, { user, sessionId: session_id })).checkout_status).toBe('open');
    expect((await cancelCheckout(h.deps, { user, sessionId: session_id })).message).toContain('not been charged');
    expect(h.emulator.state.checkout.get(session_id).status).toBe('expired');
    const row = await h.deps.db
      .selectFrom('checkout_sessions')
      .select('status')
      .where('stripe_session_id', '=', session_id)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('canceled');
  });
});

describe('createPortal', () => {
  it('reuses the customer (creating it when missing) and allowlists the return URL', async () => {
    const user = await h.newUser();
    const first = await createPortal(h.deps, { user });
    const second = await createPortal(h.deps, { user, returnUrl: 'http://localhost:5173/billing' });
    expect(first.url).toMatch(/\/portal\/bps_/);
    expect(second.url).toMatch(/\/portal\/bps_/);
    expect(await customerCount(user.id)).toEqual({ rows: 1, stripe: 1 });
    const sessions = [...h.emulator.state.portalSessions.values()].filter(
      (s) => s.customer === [...h.emulator.state.customers.values()].find((c) => c.metadata.user_id === user.id)?.id,
    );
    expect(sessions.map((s) => s.return_url)).toEqual(['https://app.example.com/billing?portal=return', 'http://localhost:5173/billing']);
    await expect(createPortal(h.deps, { user, returnUrl: 'https://evil.com' })).rejects.toMatchObject({ code: 'INVALID_REDIRECT' });
  });

  it('makes exactly one Stripe call once the customer exists', async () => {
    const user = await h.newUser();
    await createPortal(h.deps, { user });
    const before = h.emulator.requests.length;
    await createPortal(h.deps, { user });
    expect(h.emulator.requests.length - before).toBe(1);
  });
});

describe('database row counts stay consistent', () => {
  it('never has two customers for one user', async () => {
    const dupes = await sql<{
      n: number;
    }>`select count(*)::int as n from (select user_id from stripe_customers group by user_id having count(*) > 1) d`.execute(h.deps.db);
    expect(dupes.rows[0]?.n).toBe(0);
  });
});
