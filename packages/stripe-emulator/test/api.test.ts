import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.ts';
import { control, withEmulator } from './helpers.ts';

let emulator: RunningEmulator;
let stripe: Stripe;

beforeAll(async () => {
  ({ emulator, stripe } = await withEmulator());
});
afterAll(() => emulator.close());
beforeEach(async () => {
  await control(emulator, 'POST', '/reset');
});

describe('customers', () => {
  it('`metadata=` clears every key, `metadata[k]=` removes one (as Stripe does)', async () => {
    const created = await stripe.customers.create({ metadata: { a: '1', b: '2', c: '3' } });
    const one = await stripe.customers.update(created.id, { metadata: { a: '' } });
    expect(one.metadata).toEqual({ b: '2', c: '3' });
    // The SDK sends `metadata=` for an empty string.
    const cleared = await stripe.customers.update(created.id, { metadata: '' as never });
    expect(cleared.metadata).toEqual({});
    expect((await stripe.customers.retrieve(created.id)) as Stripe.Customer).toMatchObject({ metadata: {} });
  });

  it('echoes the Idempotency-Key, so the SDK can report it', async () => {
    const created = await stripe.customers.create({ name: 'Key' }, { idempotencyKey: 'echo-key-1' });
    expect(created.lastResponse.idempotencyKey).toBe('echo-key-1');
    expect(created.lastResponse.requestId).toMatch(/^req_/);
  });

  it('creates, retrieves, updates and deletes a customer', async () => {
    const created = await stripe.customers.create({ email: 'ann@example.com', name: 'Ann', metadata: { user_id: '42' } });
    expect(created).toMatchObject({
      object: 'customer',
      email: 'ann@example.com',
      name: 'Ann',
      metadata: { user_id: '42' },
      livemode: false,
    });
    expect(created.id).toMatch(/^cus_/);

    const updated = await stripe.customers.update(created.id, { name: 'Ann B', metadata: { plan: 'x' } });
    expect(updated.name).toBe('Ann B');
    expect(updated.metadata).toEqual({ user_id: '42', plan: 'x' });

    const cleared = await stripe.customers.update(created.id, { metadata: { plan: '' } });
    expect(cleared.metadata).toEqual({ user_id: '42' });

    expect((await stripe.customers.retrieve(created.id)).id).toBe(created.id);
    const deleted = await stripe.customers.del(created.id);
    expect(deleted).toEqual({ id: created.id, object: 'customer', deleted: true });
    expect(await stripe.customers.retrieve(created.id)).toMatchObject({ deleted: true });
  });

  it('lists newest first with cursor pagination and filters by email', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await stripe.customers.create({ email: i % 2 ? 'odd@example.com' : `e${i}@example.com` })).id);
    const first = await stripe.customers.list({ limit: 2 });
    expect(first.data.map((c) => c.id)).toEqual([ids[4], ids[3]]);
    expect(first.has_more).toBe(true);
    const second = await stripe.customers.list({ limit: 2, starting_after: ids[3] });
    expect(second.data.map((c) => c.id)).toEqual([ids[2], ids[1]]);
    const last = await stripe.customers.list({ limit: 2, starting_after: ids[1] });
    expect(last.data.map((c) => c.id)).toEqual([ids[0]]);
    expect(last.has_more).toBe(false);
    const odd = await stripe.customers.list({ email: 'odd@example.com' });
    expect(odd.data.map((c) => c.id).sort()).toEqual([ids[1], ids[3]].sort());

    const all: string[] = [];
    for await (const c of stripe.customers.list({ limit: 2 })) all.push(c.id);
    expect(all).toEqual([...ids].reverse());
  });

  it('searches customers by metadata and email', async () => {
    const a = await stripe.customers.create({ email: 'a@example.com', metadata: { user_id: '1' } });
    await stripe.customers.create({ email: 'b@example.com', metadata: { user_id: '2' } });
    const byMeta = await stripe.customers.search({ query: "metadata['user_id']:'1'" });
    expect(byMeta.data.map((c) => c.id)).toEqual([a.id]);
    expect(byMeta.object).toBe('search_result');
    const both = await stripe.customers.search({ query: "email:'a@example.com' OR email:'b@example.com'" });
    expect(both.data).toHaveLength(2);
    const none = await stripe.customers.search({ query: "metadata['user_id']:'1' AND email:'b@example.com'" });
    expect(none.data).toHaveLength(0);
    await expect(stripe.customers.search({ query: 'nonsense' })).rejects.toMatchObject({ type: 'StripeInvalidRequestError' });
  });
});

describe('catalog', () => {
  it('serves the seeded prices with their products', async () => {
    const prices = await stripe.prices.list({ active: true, expand: ['data.product'] });
    const byKey = Object.fromEntries(prices.data.map((p) => [p.lookup_key, p]));
    expect(byKey.premium_monthly).toMatchObject({
      id: 'price_premium_monthly',
      unit_amount: 2900,
      currency: 'usd',
      recurring: { interval: 'month' },
    });
    expect(byKey.vip_monthly?.unit_amount).toBe(9900);
    expect(byKey.enterprise_monthly?.unit_amount).toBe(29900);
    expect(byKey.premium_monthly?.product).toMatchObject({ name: 'Premium' });
    const one = await stripe.prices.retrieve('price_vip_monthly');
    expect(String(one.unit_amount_decimal)).toBe('9900');
    const byLookup = await stripe.prices.list({ lookup_keys: ['vip_monthly'] });
    expect(byLookup.data.map((p) => p.id)).toEqual(['price_vip_monthly']);
  });

  it('creates products and recurring prices', async () => {
    const product = await stripe.products.create({ name: 'Gold' });
    const price = await stripe.prices.create({ product: product.id, unit_amount: 500, currency: 'eur', recurring: { interval: 'year' } });
    expect(price).toMatchObject({
      product: product.id,
      unit_amount: 500,
      currency: 'eur',
      type: 'recurring',
      recurring: { interval: 'year', interval_count: 1 },
    });
  });
});

describe('checkout sessions', () => {
  it('creates a subscription-mode session with every field the integration sets', async () => {
    const customer = await stripe.customers.create({ email: 'c@example.com' });
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      customer: customer.id,
      line_items: [{ price: 'price_premium_monthly', quantity: 1 }],
      success_url: 'https://app.example.com/billing/success?session_id={CHECKOUT_SESSION_ID}',
      cancel_url: 'https://app.example.com/billing/cancel',
      client_reference_id: 'user-7',
      metadata: { user_id: '7', plan_id: 'premium_monthly' },
      subscription_data: { metadata: { user_id: '7' } },
    });
    expect(session).toMatchObject({
      object: 'checkout.session',
      mode: 'subscription',
      status: 'open',
      payment_status: 'unpaid',
      customer: customer.id,
      client_reference_id: 'user-7',
      metadata: { user_id: '7', plan_id: 'premium_monthly' },
      amount_total: 2900,
      currency: 'usd',
      success_url: 'https://app.example.com/billing/success?session_id={CHECKOUT_SESSION_ID}',
      subscription: null,
    });
    expect(session.url).toBe(`${emulator.url}/checkout/${session.id}`);
    expect(session.expires_at - session.created).toBe(86_400);
    const again = await stripe.checkout.sessions.retrieve(session.id, { expand: ['customer'] });
    expect((again.customer as Stripe.Customer).email).toBe('c@example.com');
    const items = await stripe.checkout.sessions.listLineItems(session.id);
    expect(items.data[0]).toMatchObject({ quantity: 1, amount_total: 2900, price: { id: 'price_premium_monthly' } });
  });

  it('refuses unknown prices and customers the way Stripe does', async () => {
    const err = await stripe.checkout.sessions
      .create({ mode: 'subscription', line_items: [{ price: 'price_nope', quantity: 1 }], success_url: 'https://a.example/s' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      type: 'StripeInvalidRequestError',
      statusCode: 404,
      code: 'resource_missing',
      param: 'line_items[0][price]',
    });
    const err2 = await stripe.checkout.sessions
      .create({
        mode: 'subscription',
        customer: 'cus_missing',
        line_items: [{ price: 'price_premium_monthly' }],
        success_url: 'https://a.example/s',
      })
      .catch((e: unknown) => e);
    expect(err2).toMatchObject({ statusCode: 404, param: 'customer' });
    const err3 = await stripe.checkout.sessions.create({ line_items: [] } as never).catch((e: unknown) => e);
    expect(err3).toMatchObject({ statusCode: 400, code: 'parameter_missing', param: 'mode' });
  });

  it('expires a session on request and lists sessions by customer', async () => {
    const customer = await stripe.customers.create({});
    const s = await stripe.checkout.sessions.create({
      mode: 'subscription',
      customer: customer.id,
      line_items: [{ price: 'price_vip_monthly' }],
      success_url: 'https://a.example/s',
    });
    const expired = await stripe.checkout.sessions.expire(s.id);
    expect(expired.status).toBe('expired');
    await expect(stripe.checkout.sessions.expire(s.id)).rejects.toMatchObject({ statusCode: 400 });
    const listed = await stripe.checkout.sessions.list({ customer: customer.id });
    expect(listed.data.map((x) => x.id)).toEqual([s.id]);
  });
});

describe('billing portal sessions', () => {
  it('creates a portal session with a return URL and an optional flow', async () => {
    const customer = await stripe.customers.create({});
    const portal = await stripe.billingPortal.sessions.create({ customer: customer.id, return_url: 'https://app.example.com/billing' });
    expect(portal).toMatchObject({
      object: 'billing_portal.session',
      customer: customer.id,
      return_url: 'https://app.example.com/billing',
      flow: null,
    });
    expect(portal.url).toBe(`${emulator.url}/portal/${portal.id}`);
    const flow = await stripe.billingPortal.sessions.create({ customer: customer.id, flow_data: { type: 'payment_method_update' } });
    expect(flow.flow?.type).toBe('payment_method_update');
    await expect(stripe.billingPortal.sessions.create({ customer: 'cus_nope' })).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe('subscriptions, invoices and events', () => {
  it('retrieves, lists and expands what a paid checkout created', async () => {
    const customer = await stripe.customers.create({ email: 'p@example.com' });
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      customer: customer.id,
      line_items: [{ price: 'price_premium_monthly' }],
      success_url: 'https://a.example/s',
      subscription_data: { metadata: { user_id: '9' } },
    });
    await control(emulator, 'POST', `/checkout/sessions/${session.id}/complete`, {});
    const done = await stripe.checkout.sessions.retrieve(session.id, { expand: ['subscription', 'subscription.latest_invoice'] });
    const sub = done.subscription as Stripe.Subscription;
    expect(sub.status).toBe('active');
    expect(sub.metadata).toEqual({ user_id: '9' });
    const item = sub.items.data[0] as Stripe.SubscriptionItem;
    expect(item.price.id).toBe('price_premium_monthly');
    expect(item.current_period_end).toBeGreaterThan(item.current_period_start);
    const invoice = sub.latest_invoice as Stripe.Invoice;
    expect(invoice).toMatchObject({
      status: 'paid',
      amount_paid: 2900,
      amount_due: 2900,
      currency: 'usd',
      billing_reason: 'subscription_create',
    });
    expect(invoice.parent?.subscription_details?.subscription).toBe(sub.id);

    const byCustomer = await stripe.invoices.list({ customer: customer.id });
    const bySub = await stripe.invoices.list({ subscription: sub.id });
    expect(byCustomer.data.map((i) => i.id)).toEqual([invoice.id]);
    expect(bySub.data.map((i) => i.id)).toEqual([invoice.id]);
    expect((await stripe.invoices.retrieve(invoice.id)).number).toMatch(/-0001$/);
    expect((await stripe.subscriptions.list({ customer: customer.id })).data.map((s) => s.id)).toEqual([sub.id]);

    const events = await stripe.events.list({ limit: 100 });
    const types = events.data.map((e) => e.type);
    for (const t of [
      'checkout.session.completed',
      'customer.subscription.created',
      'invoice.created',
      'invoice.finalized',
      'invoice.paid',
      'invoice.payment_succeeded',
    ]) {
      expect(types).toContain(t);
    }
    const completed = events.data.find((e) => e.type === 'checkout.session.completed') as Stripe.Event;
    expect((await stripe.events.retrieve(completed.id)).data.object).toMatchObject({ id: session.id, status: 'complete' });
    const onlyInvoices = await stripe.events.list({ type: 'invoice.*' });
    expect(onlyInvoices.data.every((e) => e.type.startsWith('invoice.'))).toBe(true);
  });

  it('creates, updates and cancels subscriptions directly', async () => {
    const customer = await stripe.customers.create({});
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: 'price_premium_monthly' }] });
    expect(sub.status).toBe('active');
    const pending = await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
    expect(pending.cancel_at_period_end).toBe(true);
    expect(pending.cancel_at).toBe(sub.items.data[0]?.current_period_end);
    const resumed = await stripe.subscriptions.update(sub.id, { cancel_at_period_end: false });
    expect(resumed.cancel_at_period_end).toBe(false);
    const canceled = await stripe.subscriptions.cancel(sub.id);
    expect(canceled.status).toBe('canceled');
    expect(canceled.ended_at).not.toBeNull();
    expect((await stripe.subscriptions.list({ customer: customer.id })).data).toHaveLength(0);
    expect((await stripe.subscriptions.list({ customer: customer.id, status: 'all' })).data).toHaveLength(1);
    await expect(stripe.subscriptions.cancel(sub.id)).rejects.toMatchObject({ statusCode: 400 });
  });

  it('changes price with proration and bills the difference at once with always_invoice', async () => {
    const customer = await stripe.customers.create({});
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: 'price_premium_monthly' }] });
    const item = sub.items.data[0] as Stripe.SubscriptionItem;
    const changed = await stripe.subscriptions.update(sub.id, {
      items: [{ id: item.id, price: 'price_vip_monthly' }],
      proration_behavior: 'always_invoice',
    });
    expect(changed.items.data[0]?.price.id).toBe('price_vip_monthly');
    const invoice = await stripe.invoices.retrieve(changed.latest_invoice as string);
    expect(invoice.billing_reason).toBe('subscription_update');
    // Just after the period started: almost the whole difference (99 - 29 USD) is due.
    expect(invoice.amount_due).toBeGreaterThan(6900);
    expect(invoice.amount_due).toBeLessThanOrEqual(7000);
    expect(invoice.status).toBe('paid');
    expect(invoice.lines.data[0]?.parent?.subscription_item_details?.proration).toBe(true);
  });

  it('answers unknown routes and objects with Stripe errors', async () => {
    await expect(stripe.subscriptions.retrieve('sub_missing')).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      statusCode: 404,
      code: 'resource_missing',
    });
    await expect(stripe.invoices.retrieve('in_missing')).rejects.toMatchObject({ statusCode: 404 });
    await expect(stripe.customers.list({ limit: 101 })).rejects.toMatchObject({ statusCode: 400, param: 'limit' });
    const res = await fetch(`${emulator.url}/v1/nothing`, { headers: { authorization: 'Bearer sk_test_x' } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  });
});

describe('webhook endpoints', () => {
  it('creates, lists, updates and deletes endpoints, showing the secret only on create', async () => {
    const e = await stripe.webhookEndpoints.create({ url: 'http://127.0.0.1:9/hook', enabled_events: ['invoice.paid'] });
    expect(e.secret).toMatch(/^whsec_/);
    const listed = await stripe.webhookEndpoints.list();
    expect(listed.data.map((x) => x.id)).toEqual([e.id]);
    expect(listed.data[0]?.secret).toBeUndefined();
    const upd = await stripe.webhookEndpoints.update(e.id, { disabled: true });
    expect(upd.status).toBe('disabled');
    expect(await stripe.webhookEndpoints.del(e.id)).toMatchObject({ deleted: true });
  });
});
