import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { routes } from '../src/api.ts';
import type { RunningEmulator } from '../src/index.ts';
import { API_VERSION } from '../src/objects.ts';
import { countParams, operationSchema } from '../src/validate.ts';
import { control, raw, receiver, sdk, withEmulator } from './helpers.ts';

let emulator: RunningEmulator;
let stripe: Stripe;

beforeAll(async () => {
  ({ emulator, stripe } = await withEmulator());
});
afterAll(() => emulator.close());
beforeEach(async () => {
  await control(emulator, 'POST', '/reset');
});

const premium = async () => (await stripe.prices.list({ lookup_keys: ['premium_monthly'] })).data[0] as Stripe.Price;

describe('parameters are checked against the operation, as Stripe checks them', () => {
  it('every route served is an operation of the pinned API, with its parameters', () => {
    let total = 0;
    for (const [method, path] of routes) {
      const schema = operationSchema(method, path);
      expect(schema, `${method} ${path}`).toBeDefined();
      total += countParams(schema ?? {});
    }
    // A figure, not a target: far more than the handful of parameters each handler reads itself.
    expect(total).toBeGreaterThan(500);
  });

  it('spec/params.json is what the pinned SDK declares (regenerated, compared byte for byte)', () => {
    const cwd = fileURLToPath(new URL('..', import.meta.url));
    expect(() =>
      execFileSync(process.execPath, ['--import', 'tsx', 'scripts/sdk-params.ts', '--check'], { cwd, stdio: 'pipe' }),
    ).not.toThrow();
  });

  it('an unknown parameter is refused with parameter_unknown, naming it', async () => {
    const res = await raw(emulator, 'POST', '/v1/customers', 'emial=a%40example.com');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'parameter_unknown', param: 'emial' });
    expect(res.body.error.message).toBe('Received unknown parameter: emial');
    expect((await stripe.customers.list()).data).toHaveLength(0);
  });

  it('an unknown nested parameter is named by its full bracket path', async () => {
    const price = await premium();
    const res = await raw(
      emulator,
      'POST',
      '/v1/checkout/sessions',
      `mode=subscription&success_url=https%3A%2F%2Fx.test%2Fok&line_items[0][price]=${price.id}&line_items[0][prize]=1`,
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'parameter_unknown', param: 'line_items[0][prize]' });
  });

  it('a wrong type, a value outside an enum and a missing required parameter are refused', async () => {
    const notInt = await raw(emulator, 'GET', '/v1/customers', 'limit=ten');
    expect(notInt.status).toBe(400);
    expect(notInt.body.error).toMatchObject({ code: 'parameter_invalid_integer', param: 'limit' });

    const notEnum = await raw(emulator, 'GET', '/v1/subscriptions', 'status=sleeping');
    expect(notEnum.status).toBe(400);
    expect(notEnum.body.error.param).toBe('status');
    expect(notEnum.body.error.message).toMatch(/^Invalid status: must be one of active, all, /);

    const notBool = await raw(emulator, 'GET', '/v1/prices', 'active=yes');
    expect(notBool.status).toBe(400);
    expect(notBool.body.error).toMatchObject({ param: 'active', message: 'Invalid boolean: yes' });

    const missing = await raw(emulator, 'POST', '/v1/prices', 'unit_amount=100&product=prod_x');
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: 'parameter_missing', param: 'currency' });

    const empty = await raw(emulator, 'POST', '/v1/checkout/sessions', 'mode=');
    expect(empty.status).toBe(400);
    expect(empty.body.error).toMatchObject({ code: 'parameter_invalid_empty', param: 'mode' });
  });

  it('a refused request is not remembered under its Idempotency-Key', async () => {
    const key = { 'idempotency-key': 'strict-retry-1' };
    const first = await raw(emulator, 'POST', '/v1/customers', 'emial=x', key);
    expect(first.status).toBe(400);
    const second = await raw(emulator, 'POST', '/v1/customers', 'email=x%40example.com', key);
    expect(second.status).toBe(200);
    expect(second.body.email).toBe('x@example.com');
  });

  it('unsetting one metadata key with `metadata[k]=` stays allowed', async () => {
    const c = await stripe.customers.create({ metadata: { a: '1', b: '2' } });
    const res = await raw(emulator, 'POST', `/v1/customers/${c.id}`, 'metadata[a]=');
    expect(res.status).toBe(200);
    expect(res.body.metadata).toEqual({ b: '2' });
  });
});

describe('expand', () => {
  it('a path the object cannot expand is refused', async () => {
    const c = await stripe.customers.create({});
    const res = await raw(emulator, 'GET', `/v1/customers/${c.id}`, 'expand[]=nope');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ param: 'expand', message: 'This property cannot be expanded (nope).' });
    // An id field that is not expandable, and one level too deep.
    const sub = await raw(emulator, 'GET', '/v1/subscriptions', 'expand[]=customer');
    expect(sub.status).toBe(400);
    const tooDeep = await raw(emulator, 'GET', `/v1/customers/${c.id}`, 'expand[]=a.b.c.d.e');
    expect(tooDeep.status).toBe(400);
  });

  it('a Checkout Session expands its line_items, which it otherwise leaves out', async () => {
    const price = await premium();
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: price.id, quantity: 1 }],
      success_url: 'https://x.test/ok',
    });
    expect(session.line_items).toBeUndefined();
    const expanded = await stripe.checkout.sessions.retrieve(session.id, { expand: ['line_items', 'line_items.data.price.product'] });
    expect(expanded.line_items?.object).toBe('list');
    expect(expanded.line_items?.data[0]).toMatchObject({ object: 'item', quantity: 1, amount_total: price.unit_amount });
    expect((expanded.line_items?.data[0]?.price?.product as Stripe.Product | undefined)?.object).toBe('product');
  });

  it('lists expand through data., and nested ids expand along the spec', async () => {
    const c = await stripe.customers.create({});
    const price = await premium();
    await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }] });
    const subs = await stripe.subscriptions.list({ expand: ['data.customer', 'data.items.data.price.product'] });
    expect((subs.data[0]?.customer as Stripe.Customer | undefined)?.id).toBe(c.id);
    expect((subs.data[0]?.items.data[0]?.price.product as Stripe.Product | undefined)?.object).toBe('product');
    const invoices = await stripe.invoices.list({ customer: c.id, expand: ['data.parent.subscription_details.subscription'] });
    expect((invoices.data[0]?.parent?.subscription_details?.subscription as Stripe.Subscription | undefined)?.object).toBe('subscription');
  });
});

describe('protocol', () => {
  it('an unknown route is Stripe’s 404 Unrecognized request URL, with a Request-Id', async () => {
    const res = await raw(emulator, 'GET', '/v1/nonsense');
    expect(res.status).toBe(404);
    expect(res.body.error.message).toMatch(/^Unrecognized request URL \(GET: \/v1\/nonsense\)/);
    expect(res.headers.get('request-id')).toMatch(/^req_/);
  });
});

describe('versions', () => {
  const subscribed = async () => {
    const c = await stripe.customers.create({});
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: (await premium()).id }] });
    return { customer: c, sub };
  };

  it('answers at the version the SDK pins by default, in today’s shape', async () => {
    const { sub } = await subscribed();
    const res = await raw(emulator, 'GET', `/v1/subscriptions/${sub.id}`);
    expect(res.headers.get('stripe-version')).toBe(API_VERSION);
    expect(res.body.current_period_end).toBeUndefined();
    expect(res.body.items.data[0].current_period_end).toBeTypeOf('number');
    expect(res.body.billing_mode).toBeDefined();
  });

  it('renders 2023-08-16 with the fields of that version, and expands them', async () => {
    const { customer, sub } = await subscribed();
    const v = { 'stripe-version': '2023-08-16' };
    const old = await raw(emulator, 'GET', `/v1/subscriptions/${sub.id}`, '', v);
    expect(old.headers.get('stripe-version')).toBe('2023-08-16');
    expect(old.body.current_period_end).toBe(sub.items.data[0]?.current_period_end);
    expect(old.body.billing_mode).toBeUndefined();
    expect(old.body.items.data[0].current_period_end).toBeUndefined();

    const invoices = await raw(emulator, 'GET', '/v1/invoices', `customer=${customer.id}&expand[]=data.subscription`, v);
    expect(invoices.status).toBe(200);
    expect(invoices.body.data[0]).toMatchObject({ paid: true, subscription: { id: sub.id, object: 'subscription' } });
    expect(invoices.body.data[0].parent).toBeUndefined();
    // The same path at today's version names a field that no longer exists.
    const today = await raw(emulator, 'GET', '/v1/invoices', `customer=${customer.id}&expand[]=data.subscription`);
    expect(today.status).toBe(400);
  });

  it('serves an older real version with the nearest modeled shape, and refuses one it cannot render or that does not exist', async () => {
    const { sub } = await subscribed();
    // Stripe's own samples pin versions such as 2022-08-01: served with the 2023-08-16 shapes.
    const pinned = sdk(emulator, { apiVersion: '2022-08-01' as never });
    const old = (await pinned.subscriptions.retrieve(sub.id)) as unknown as Record<string, unknown>;
    expect(old.current_period_end).toBe(sub.items.data[0]?.current_period_end);
    expect(old.lastResponse).toMatchObject({ apiVersion: '2022-08-01' });
    for (const version of ['2019-12-03', '2022-13-01', 'yesterday']) {
      const res = await raw(emulator, 'GET', '/v1/customers', '', { 'stripe-version': version });
      expect(res.status, version).toBe(400);
      expect(res.body.error.message).toContain('2020-08-27');
      expect(res.body.error.message).toContain(API_VERSION);
    }
  });

  it('a webhook endpoint receives events at its own api_version', async () => {
    const hookStripe = sdk(emulator);
    const legacyHook = await receiver(hookStripe, 'placeholder');
    const todayHook = await receiver(hookStripe, 'placeholder');
    try {
      const legacy = await stripe.webhookEndpoints.create({
        url: legacyHook.url,
        enabled_events: ['customer.subscription.created'],
        api_version: '2023-08-16',
      });
      const today = await stripe.webhookEndpoints.create({ url: todayHook.url, enabled_events: ['customer.subscription.created'] });
      legacyHook.secret = legacy.secret as string;
      todayHook.secret = today.secret as string;
      const { sub } = await subscribed();
      await emulator.webhooksIdle();
      const [a] = legacyHook.events;
      const [b] = todayHook.events;
      expect(a?.api_version).toBe('2023-08-16');
      expect((a?.data.object as unknown as Record<string, unknown> | undefined)?.current_period_end).toBe(
        sub.items.data[0]?.current_period_end,
      );
      expect(b?.api_version).toBe(API_VERSION);
      expect((b?.data.object as unknown as Record<string, unknown> | undefined)?.current_period_end).toBeUndefined();

      const bad = await raw(
        emulator,
        'POST',
        '/v1/webhook_endpoints',
        `url=${encodeURIComponent(todayHook.url)}&enabled_events[]=*&api_version=2019-12-03`,
      );
      expect(bad.status).toBe(400);
      expect(bad.body.error.param).toBe('api_version');
    } finally {
      await legacyHook.close();
      await todayHook.close();
    }
  });
});

describe('subscriptions behave as on Stripe', () => {
  const DAY = 86_400;

  it('a downgrade is itemised into credit and debit, and its negative total becomes balance for the next invoice', async () => {
    const c = await stripe.customers.create({});
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: 'price_vip_monthly' }] });
    await control(emulator, 'POST', '/clock/advance', { seconds: 15 * DAY });
    const changed = await stripe.subscriptions.update(sub.id, {
      items: [{ id: sub.items.data[0]?.id as string, price: 'price_premium_monthly' }],
      proration_behavior: 'always_invoice',
      expand: ['latest_invoice'],
    });
    const proration = changed.latest_invoice as Stripe.Invoice;
    expect(proration.lines.data.map((l) => l.description?.split(' after ')[0])).toEqual([
      'Unused time on VIP',
      'Remaining time on Premium',
    ]);
    expect(proration.lines.data.map((l) => Math.sign(l.amount))).toEqual([-1, 1]);
    expect(proration.total).toBeLessThan(0);
    expect(proration).toMatchObject({ amount_due: 0, status: 'paid', starting_balance: 0, ending_balance: proration.total });
    const credit = proration.total;
    expect(((await stripe.customers.retrieve(c.id)) as Stripe.Customer).balance).toBe(credit);

    await control(emulator, 'POST', '/clock/advance', { seconds: 16 * DAY });
    const [renewal] = (await stripe.invoices.list({ customer: c.id, limit: 1 })).data;
    expect(renewal?.billing_reason).toBe('subscription_cycle');
    expect(renewal?.total).toBe(2900);
    expect(renewal?.starting_balance).toBe(credit);
    expect(renewal?.amount_due).toBe(Math.max(0, 2900 + credit));
    expect(((await stripe.customers.retrieve(c.id)) as Stripe.Customer).balance).toBe(Math.min(0, 2900 + credit));
  });
});

describe('trials and payment behaviour', () => {
  const DAY = 86_400;
  const eventTypes = async (type: string) => (await stripe.events.list({ type, limit: 100 })).data;

  it('a trial starts trialing with a $0 invoice, warns 3 days before its end, and charges at the end', async () => {
    const c = await stripe.customers.create({});
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: 'price_premium_monthly' }], trial_period_days: 7 });
    expect(sub.status).toBe('trialing');
    expect(sub.trial_end).toBe((sub.trial_start as number) + 7 * DAY);
    const [first] = (await stripe.invoices.list({ customer: c.id })).data;
    expect(first).toMatchObject({ total: 0, amount_paid: 0, status: 'paid', billing_reason: 'subscription_create' });
    expect(first?.lines.data[0]?.description).toBe('Trial period for Premium');

    await control(emulator, 'POST', '/clock/advance', { seconds: 3 * DAY });
    expect(await eventTypes('customer.subscription.trial_will_end')).toHaveLength(0);
    await control(emulator, 'POST', '/clock/advance', { seconds: 1 * DAY + 60 });
    expect(await eventTypes('customer.subscription.trial_will_end')).toHaveLength(1);
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('trialing');

    await control(emulator, 'POST', '/clock/advance', { seconds: 3 * DAY });
    const after = await stripe.subscriptions.retrieve(sub.id);
    expect(after.status).toBe('active');
    const [charge] = (await stripe.invoices.list({ customer: c.id, limit: 1 })).data;
    expect(charge).toMatchObject({ total: 2900, amount_paid: 2900, status: 'paid', billing_reason: 'subscription_cycle' });
    expect(after.items.data[0]?.current_period_start).toBe(sub.trial_end);
  });

  it('Checkout’s subscription_data.trial_period_days starts a trial once the session is paid, charging nothing', async () => {
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: 'price_vip_monthly', quantity: 1 }],
      success_url: 'https://x.test/ok',
      subscription_data: { trial_period_days: 14 },
    });
    expect(session.amount_total).toBe(0);
    await control(emulator, 'POST', `/checkout/sessions/${session.id}/complete`, {});
    const done = await stripe.checkout.sessions.retrieve(session.id, { expand: ['subscription'] });
    expect((done.subscription as Stripe.Subscription).status).toBe('trialing');
  });

  it('payment_behavior: default_incomplete waits for invoices.pay; error_if_incomplete creates nothing on a decline', async () => {
    const c = await stripe.customers.create({});
    const waiting = await stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: 'price_premium_monthly' }],
      payment_behavior: 'default_incomplete',
      expand: ['latest_invoice'],
    });
    expect(waiting.status).toBe('incomplete');
    const invoice = waiting.latest_invoice as Stripe.Invoice;
    expect(invoice).toMatchObject({ status: 'open', attempted: false, amount_due: 2900 });
    const paid = await stripe.invoices.pay(invoice.id as string);
    expect(paid.status).toBe('paid');
    expect((await stripe.subscriptions.retrieve(waiting.id)).status).toBe('active');
    await expect(stripe.invoices.pay(invoice.id as string)).rejects.toMatchObject({ statusCode: 400 });

    const d = await stripe.customers.create({});
    await control(emulator, 'POST', `/customers/${d.id}/card`, { fails: true });
    await expect(
      stripe.subscriptions.create({ customer: d.id, items: [{ price: 'price_premium_monthly' }], payment_behavior: 'error_if_incomplete' }),
    ).rejects.toMatchObject({ statusCode: 402, code: 'card_declined' });
    expect((await stripe.subscriptions.list({ customer: d.id, status: 'all' })).data).toHaveLength(0);
    // allow_incomplete (the default) keeps an incomplete subscription whose first invoice failed.
    const kept = await stripe.subscriptions.create({ customer: d.id, items: [{ price: 'price_premium_monthly' }] });
    expect(kept.status).toBe('incomplete');
  });

  it('an open invoice can be voided, and only a draft finalized', async () => {
    const c = await stripe.customers.create({});
    const sub = await stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: 'price_premium_monthly' }],
      payment_behavior: 'default_incomplete',
    });
    const voided = await stripe.invoices.voidInvoice(sub.latest_invoice as string);
    expect(voided.status).toBe('void');
    await expect(stripe.invoices.finalizeInvoice(voided.id as string)).rejects.toMatchObject({ statusCode: 400 });
    await expect(stripe.invoices.pay(voided.id as string)).rejects.toMatchObject({ statusCode: 400 });
  });
});

describe('routes a billing system uses', () => {
  it('subscription items: add (prorated), list, update, remove, never the last', async () => {
    const c = await stripe.customers.create({});
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: 'price_premium_monthly' }] });
    const added = await stripe.subscriptionItems.create({
      subscription: sub.id,
      price: 'price_vip_monthly',
      proration_behavior: 'always_invoice',
    });
    expect(added).toMatchObject({ object: 'subscription_item', subscription: sub.id, price: { id: 'price_vip_monthly' } });
    const items = await stripe.subscriptionItems.list({ subscription: sub.id });
    expect(items.data.map((i) => i.price.id).sort()).toEqual(['price_premium_monthly', 'price_vip_monthly']);
    const latest = await stripe.invoices.retrieve((await stripe.subscriptions.retrieve(sub.id)).latest_invoice as string);
    expect(latest.billing_reason).toBe('subscription_update');
    expect(latest.lines.data[0]?.description).toMatch(/^Remaining time on VIP after /);

    const updated = await stripe.subscriptionItems.update(added.id, { quantity: 2, proration_behavior: 'none' });
    expect(updated.quantity).toBe(2);
    const removed = await stripe.subscriptionItems.del(added.id, { proration_behavior: 'none' });
    expect(removed).toMatchObject({ id: added.id, deleted: true });
    await expect(stripe.subscriptionItems.del(sub.items.data[0]?.id as string)).rejects.toMatchObject({ statusCode: 400 });
    await expect(stripe.subscriptionItems.retrieve('si_nope')).rejects.toMatchObject({ statusCode: 404 });
  });

  it('search on subscriptions, invoices, prices and products', async () => {
    const c = await stripe.customers.create({});
    const sub = await stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: 'price_premium_monthly' }],
      metadata: { user_id: '77' },
    });
    expect((await stripe.subscriptions.search({ query: "metadata['user_id']:'77'" })).data.map((s) => s.id)).toEqual([sub.id]);
    expect((await stripe.subscriptions.search({ query: "status:'canceled'" })).data).toHaveLength(0);
    const invoices = await stripe.invoices.search({ query: `customer:'${c.id}' AND total>1000` });
    expect(invoices.data).toHaveLength(1);
    expect((await stripe.prices.search({ query: "lookup_key:'vip_monthly'" })).data[0]?.id).toBe('price_vip_monthly');
    expect((await stripe.products.search({ query: "name~'prem'" })).data[0]?.name).toBe('Premium');
    const unsupported = await raw(emulator, 'GET', '/v1/products/search', `query=${encodeURIComponent("color:'red'")}`);
    expect(unsupported.status).toBe(400);
  });

  it('invoice preview gives the amount of a plan change before it is made, changing nothing', async () => {
    const c = await stripe.customers.create({});
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: 'price_premium_monthly' }] });
    await control(emulator, 'POST', '/clock/advance', { seconds: 10 * 86_400 });
    const preview = await stripe.invoices.createPreview({
      customer: c.id,
      subscription: sub.id,
      subscription_details: {
        items: [{ id: sub.items.data[0]?.id as string, price: 'price_vip_monthly' }],
        proration_behavior: 'always_invoice',
      },
    });
    expect(preview.lines.data.map((l) => Math.sign(l.amount))).toEqual([-1, 1]);
    expect(preview.amount_due).toBeGreaterThan(0);
    expect(preview.amount_due).toBeLessThan(9900 - 2900);
    const next = await stripe.invoices.createPreview({ customer: c.id, subscription: sub.id });
    expect(next.total).toBe(2900);
    expect((await stripe.subscriptions.retrieve(sub.id)).items.data[0]?.price.id).toBe('price_premium_monthly');
    expect((await stripe.invoices.list({ customer: c.id })).data).toHaveLength(1);
  });

  it("a change made with the preview's proration_date bills exactly what the preview said; a date outside the period is refused", async () => {
    const c = await stripe.customers.create({});
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: 'price_premium_monthly' }] });
    await control(emulator, 'POST', '/clock/advance', { seconds: 10 * 86_400 });
    const item = sub.items.data[0]?.id as string;
    const at = (await stripe.subscriptions.retrieve(sub.id)).items.data[0]?.current_period_start as number;
    const pricedAt = at + 10 * 86_400 - 60;
    const preview = await stripe.invoices.createPreview({
      customer: c.id,
      subscription: sub.id,
      subscription_details: {
        items: [{ id: item, price: 'price_vip_monthly' }],
        proration_behavior: 'always_invoice',
        proration_date: pricedAt,
      },
    });
    // A preview priced outside the period is refused, as Stripe does.
    await expect(
      stripe.invoices.createPreview({
        customer: c.id,
        subscription: sub.id,
        subscription_details: { items: [{ id: item, price: 'price_vip_monthly' }], proration_date: at - 1 },
      }),
    ).rejects.toMatchObject({ type: 'StripeInvalidRequestError', param: 'subscription_details[proration_date]' });
    // An hour passes between the preview and the confirmation: the date keeps the amount.
    await control(emulator, 'POST', '/clock/advance', { seconds: 3600 });
    for (const bad of [at - 1, pricedAt + 7200]) {
      await expect(
        stripe.subscriptions.update(sub.id, { items: [{ id: item, price: 'price_vip_monthly' }], proration_date: bad }),
      ).rejects.toMatchObject({ type: 'StripeInvalidRequestError', param: 'proration_date' });
    }
    await stripe.subscriptions.update(sub.id, {
      items: [{ id: item, price: 'price_vip_monthly' }],
      proration_behavior: 'always_invoice',
      proration_date: pricedAt,
    });
    const billed = (await stripe.invoices.list({ customer: c.id, limit: 1 })).data[0];
    expect(billed?.billing_reason).toBe('subscription_update');
    expect(billed?.amount_due).toBe(preview.amount_due);
  });

  it('products and prices are created and updated with their events; a portal session emits its own', async () => {
    const product = await stripe.products.create({ name: 'Gold' });
    const price = await stripe.prices.create({ product: product.id, unit_amount: 4900, currency: 'usd', recurring: { interval: 'month' } });
    const renamed = await stripe.products.update(product.id, { name: 'Gold+', default_price: price.id });
    expect(renamed).toMatchObject({ name: 'Gold+', default_price: price.id });
    const archived = await stripe.prices.update(price.id, { active: false, nickname: 'old gold' });
    expect(archived).toMatchObject({ active: false, nickname: 'old gold' });
    const c = await stripe.customers.create({});
    await stripe.billingPortal.sessions.create({ customer: c.id });
    const types = (await stripe.events.list({ limit: 100 })).data.map((e) => e.type);
    for (const t of ['product.created', 'price.created', 'product.updated', 'price.updated', 'billing_portal.session.created']) {
      expect(types).toContain(t);
    }
  });

  it('a checkout success_url that is not a URL is refused', async () => {
    await expect(
      stripe.checkout.sessions.create({
        mode: 'subscription',
        line_items: [{ price: 'price_premium_monthly', quantity: 1 }],
        success_url: 'x',
      }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'success_url' });
  });
});

describe('coupons, promotion codes, refunds and disputes', () => {
  const DAY = 86_400;

  it('a percent coupon for 2 months discounts two invoices, then the full price is charged', async () => {
    const coupon = await stripe.coupons.create({ percent_off: 25, duration: 'repeating', duration_in_months: 2 });
    const c = await stripe.customers.create({});
    const sub = await stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: 'price_premium_monthly' }],
      discounts: [{ coupon: coupon.id }],
    });
    expect(sub.discounts).toHaveLength(1);
    for (let i = 0; i < 2; i++) await control(emulator, 'POST', '/clock/advance', { seconds: 31 * DAY });
    const totals = (await stripe.invoices.list({ customer: c.id })).data.map((i) => i.total).reverse();
    expect(totals).toEqual([2175, 2175, 2900]);
    const [first] = (await stripe.invoices.list({ customer: c.id, limit: 3 })).data.slice(-1);
    expect(first?.subtotal).toBe(2900);
    expect(first?.total_discount_amounts?.[0]?.amount).toBe(725);
    expect((await stripe.coupons.retrieve(coupon.id)).times_redeemed).toBe(1);
  });

  it('a promotion code typed at Checkout lowers the first invoice once; a used-up code is refused', async () => {
    const coupon = await stripe.coupons.create({ amount_off: 1000, currency: 'usd', duration: 'once' });
    const promo = await stripe.promotionCodes.create({
      promotion: { type: 'coupon', coupon: coupon.id },
      code: 'WELCOME10',
      max_redemptions: 1,
    });
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: 'price_premium_monthly', quantity: 1 }],
      success_url: 'https://x.test/ok',
      allow_promotion_codes: true,
    });
    const done = await control(emulator, 'POST', `/checkout/sessions/${session.id}/complete`, { promotion_code: 'welcome10' });
    expect(done.body).toMatchObject({ status: 'complete', amount_total: 1900, total_details: { amount_discount: 1000 } });
    const [invoice] = (await stripe.invoices.list({ customer: done.body.customer })).data;
    expect(invoice).toMatchObject({ subtotal: 2900, total: 1900, amount_paid: 1900 });
    expect((await stripe.promotionCodes.retrieve(promo.id)).times_redeemed).toBe(1);
    await control(emulator, 'POST', '/clock/advance', { seconds: 31 * DAY });
    expect((await stripe.invoices.list({ customer: done.body.customer, limit: 1 })).data[0]?.total).toBe(2900);

    const again = await stripe.checkout.sessions
      .create({
        mode: 'subscription',
        line_items: [{ price: 'price_premium_monthly', quantity: 1 }],
        success_url: 'https://x.test/ok',
        discounts: [{ promotion_code: promo.id }],
      })
      .catch((err: { statusCode: number; message: string }) => err);
    expect(again).toMatchObject({ statusCode: 400 });
    expect((again as { message: string }).message).toMatch(/fully redeemed/);
    await expect(
      stripe.checkout.sessions.create({
        mode: 'subscription',
        line_items: [{ price: 'price_premium_monthly', quantity: 1 }],
        success_url: 'https://x.test/ok',
        allow_promotion_codes: true,
        discounts: [{ coupon: coupon.id }],
      }),
    ).rejects.toMatchObject({ statusCode: 400 });
  });

  it('an invoice’s payment is refunded with charge.refunded; a dispute opens and closes with charge.dispute.*', async () => {
    const c = await stripe.customers.create({});
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: 'price_premium_monthly' }] });
    const [payment] = (await stripe.invoicePayments.list({ invoice: sub.latest_invoice as string })).data;
    expect(payment?.payment.type).toBe('payment_intent');
    const refund = await stripe.refunds.create({ payment_intent: payment?.payment.payment_intent as string, amount: 900 });
    expect(refund).toMatchObject({ object: 'refund', amount: 900, status: 'succeeded' });
    const charge = await stripe.charges.retrieve(refund.charge as string);
    expect(charge).toMatchObject({ amount: 2900, amount_refunded: 900, refunded: false });
    await expect(stripe.refunds.create({ charge: charge.id, amount: 5000 })).rejects.toMatchObject({ statusCode: 400 });
    await stripe.refunds.create({ charge: charge.id });
    expect((await stripe.charges.retrieve(charge.id)).refunded).toBe(true);
    const refundedEvents = (await stripe.events.list({ type: 'charge.refunded' })).data;
    expect(refundedEvents).toHaveLength(2);

    const d = await stripe.customers.create({});
    await stripe.subscriptions.create({ customer: d.id, items: [{ price: 'price_premium_monthly' }] });
    const [disputed] = (await stripe.charges.list({ customer: d.id })).data;
    const opened = await control(emulator, 'POST', `/charges/${disputed?.id}/dispute`, { reason: 'fraudulent' });
    expect(opened.body).toMatchObject({ object: 'dispute', status: 'needs_response', charge: disputed?.id });
    const closed = await control(emulator, 'POST', `/disputes/${opened.body.id}/close`, { outcome: 'lost' });
    expect(closed.body.status).toBe('lost');
    const types = (await stripe.events.list({ limit: 100 })).data.map((e) => e.type);
    expect(types).toContain('charge.dispute.created');
    expect(types).toContain('charge.dispute.closed');
    expect((await stripe.disputes.retrieve(opened.body.id)).status).toBe('lost');
  });
});

describe('the calls of Stripe’s own subscription sample', () => {
  it('default_incomplete with latest_invoice.confirmation_secret, pay, preview, change and cancel', async () => {
    const customer = await stripe.customers.create({ email: 'sample@example.com' });
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: 'price_premium_monthly' }],
      payment_behavior: 'default_incomplete',
      payment_settings: { save_default_payment_method: 'on_subscription' },
      expand: ['latest_invoice.confirmation_secret'],
    });
    const invoice = sub.latest_invoice as Stripe.Invoice;
    expect(invoice.confirmation_secret?.type).toBe('payment_intent');
    const intentId = invoice.confirmation_secret?.client_secret.split('_secret_')[0] as string;
    expect((await stripe.paymentIntents.retrieve(intentId)).status).toBe('requires_confirmation');
    // What Stripe.js confirming the payment does, here through the API.
    await stripe.invoices.pay(invoice.id as string);
    const intent = await stripe.paymentIntents.retrieve(intentId, { expand: ['latest_charge'] });
    expect(intent).toMatchObject({ status: 'succeeded', amount_received: 2900 });
    expect((intent.latest_charge as Stripe.Charge).paid).toBe(true);
    const paid = await stripe.invoices.retrieve(invoice.id as string, { expand: ['payments'] });
    expect(paid.payments?.data[0]?.payment.payment_intent).toBe(intentId);

    const preview = await stripe.invoices.createPreview({
      customer: customer.id,
      subscription: sub.id,
      subscription_details: { items: [{ id: sub.items.data[0]?.id as string, price: 'price_vip_monthly' }] },
    });
    expect(preview.total).toBeGreaterThan(9900);
    const listed = await stripe.subscriptions.list({ customer: customer.id, status: 'all', expand: ['data.default_payment_method'] });
    expect(listed.data.map((s) => s.id)).toEqual([sub.id]);
    const updated = await stripe.subscriptions.update(sub.id, {
      items: [{ id: sub.items.data[0]?.id as string, price: 'price_vip_monthly' }],
    });
    expect(updated.items.data[0]?.price.id).toBe('price_vip_monthly');
    expect((await stripe.subscriptions.cancel(sub.id)).status).toBe('canceled');
  });
});

describe('the calls of Stripe’s older subscription sample, pinned to 2020-08-27', () => {
  it('latest_invoice.payment_intent expands to the intent whose client secret the page confirms', async () => {
    const pinned = sdk(emulator, { apiVersion: '2020-08-27' as never });
    const customer = await pinned.customers.create({ email: 'classic@example.com' });
    const sub = (await pinned.subscriptions.create({
      customer: customer.id,
      items: [{ price: 'price_premium_monthly' }],
      payment_behavior: 'default_incomplete',
      expand: ['latest_invoice.payment_intent'],
    })) as unknown as {
      status: string;
      latest_invoice: { id: string; payment_intent: { id: string; client_secret: string; status: string } };
    };
    expect(sub.status).toBe('incomplete');
    const intent = sub.latest_invoice.payment_intent;
    expect(intent.client_secret).toMatch(/^pi_.+_secret_/);
    await stripe.invoices.pay(sub.latest_invoice.id);
    const paid = (await pinned.invoices.retrieve(sub.latest_invoice.id)) as unknown as Record<string, unknown>;
    expect(paid).toMatchObject({ paid: true, payment_intent: intent.id });
    expect(paid.charge).toMatch(/^ch_/);
  });
});
