import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../src/index.ts';
import { control, receiver, SECRET, sdk } from './helpers.ts';

// Stripe's own descriptions of the objects, copied from the team's reference set (spec/SOURCE.md).
const truth = (name: string) => JSON.parse(readFileSync(fileURLToPath(new URL(`../spec/${name}`, import.meta.url)), 'utf8'));
type FieldSpecs = Record<string, Record<string, { optional: boolean; nullable: boolean }>>;
const teamFields: FieldSpecs = truth('stripe-node-23.1.0-fields.json');
// Every object the SDK declares, read from its type declarations by scripts/sdk-params.ts.
const sdkObjects: FieldSpecs = truth('fields.json').objects;
/** Kinds the emulator never returns (it serves no delete for these). */
const NOT_RETURNED = new Set(['deleted_discount', 'deleted_invoice', 'deleted_plan', 'deleted_price', 'deleted_product']);
const sdkFields: FieldSpecs = {
  ...Object.fromEntries(Object.entries(sdkObjects).filter(([kind]) => !NOT_RETURNED.has(kind))),
  ...teamFields,
};
const drift: Record<string, { removed_since_2023_08_16: string[]; added_since_2023_08_16: string[]; nullability_changes: string[] }> =
  truth('api-drift-2023-08-16-vs-stripe-node-23.1.0.json');
const spec = truth('stripe-openapi-subset.json');

type Json = Record<string, unknown>;

/** Every object in a response, nested ones included, keyed by its `object` value. */
function collect(value: unknown, out: Map<string, Json[]>): void {
  if (Array.isArray(value)) {
    for (const v of value) collect(v, out);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const record = value as Json;
  if (typeof record.object === 'string') {
    const kind = record.deleted === true ? `deleted_${record.object}` : record.object;
    out.set(kind, [...(out.get(kind) ?? []), record]);
  }
  for (const v of Object.values(record)) collect(v, out);
}

/** OpenAPI 3.0 → JSON Schema: `nullable` becomes a null alternative; removed fields are no longer required. */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const src = node as Json;
  const out: Json = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === 'nullable' || k.startsWith('x-') || k === 'description') continue;
    if (k === '$ref') out.$ref = (v as string).replace('#/components/schemas/', '#/definitions/');
    else out[k] = toJsonSchema(v);
  }
  if (src.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else return { anyOf: [out, { type: 'null' }] };
    if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
  }
  return out;
}

const DRIFTED: Record<string, string> = {
  customer: 'customer',
  'checkout.session': 'checkout.session',
  'billing_portal.session': 'billing_portal.session',
  invoice: 'invoice',
  subscription: 'subscription',
  subscription_item: 'subscription_item',
  price: 'price',
  event: 'event',
  deleted_customer: 'deleted_customer',
};

function validators(): Record<string, ValidateFunction> {
  const definitions = toJsonSchema(spec.components.schemas) as Record<string, Json>;
  for (const [kind, schemaName] of Object.entries(DRIFTED)) {
    const schema = definitions[schemaName] as Json;
    const removed = new Set(drift[kind]?.removed_since_2023_08_16 ?? []);
    const props = schema.properties as Json;
    for (const f of removed) delete props[f];
    schema.required = (schema.required as string[]).filter((f) => !removed.has(f));
    for (const change of drift[kind]?.nullability_changes ?? []) {
      const field = change.split(':')[0] as string;
      props[field] = {};
    }
  }
  // Nested objects whose shape moved since 2023 and are not in the drift list are checked by presence only.
  ((definitions.invoice as Json).properties as Json).lines = { type: 'object', required: ['data', 'has_more', 'object', 'url'] };
  // An expanded product: `features` became `marketing_features` in 2024 (the drift file lists no product).
  const product = definitions.product as Json;
  product.required = (product.required as string[]).filter((f) => f !== 'features');
  const ajv = new Ajv({ strict: false, allErrors: true, formats: { 'unix-time': true, decimal: /^-?\d+(\.\d+)?$/ } });
  ajv.addSchema({ definitions }, 'stripe');
  return Object.fromEntries(Object.values(DRIFTED).map((name) => [name, ajv.compile({ $ref: `stripe#/definitions/${name}` })]));
}

let emulator: RunningEmulator;
const seen = new Map<string, Json[]>();

async function raw(path: string): Promise<unknown> {
  const res = await fetch(`${emulator.url}${path}`, { headers: { authorization: 'Bearer sk_test_fidelity' } });
  expect(res.ok).toBe(true);
  return res.json();
}

beforeAll(async () => {
  const hook = await receiver(sdk({ port: 1 } as RunningEmulator));
  emulator = await startEmulator({ port: 0, webhook: { url: hook.url, secret: SECRET }, webhookOptions: { retryDelaysMs: [10] } });
  const stripe = sdk(emulator);
  // A whole life: customer → checkout (declined, then paid) → renewal → failed renewal → plan change → cancel.
  const customer = await stripe.customers.create({ email: 'fidelity@example.com', metadata: { user_id: '1' } });
  const session = await stripe.checkout.sessions.create({
    mode: 'subscription',
    customer: customer.id,
    line_items: [{ price: 'price_premium_monthly' }],
    success_url: 'https://a.example/s?id={CHECKOUT_SESSION_ID}',
    cancel_url: 'https://a.example/c',
    metadata: { user_id: '1' },
  });
  await control(emulator, 'POST', `/checkout/sessions/${session.id}/complete`, { outcome: 'card_declined' });
  await control(emulator, 'POST', `/checkout/sessions/${session.id}/complete`, {});
  await control(emulator, 'POST', '/clock/advance', { seconds: 31 * 86_400 });
  await control(emulator, 'POST', `/customers/${customer.id}/card`, { fails: true });
  await control(emulator, 'POST', '/clock/advance', { seconds: 31 * 86_400 });
  const sub = (await stripe.subscriptions.list({ customer: customer.id })).data[0] as Stripe.Subscription;
  await control(emulator, 'POST', `/customers/${customer.id}/card`, { fails: false });
  await stripe.subscriptions.update(sub.id, {
    items: [{ id: sub.items.data[0]?.id as string, price: 'price_vip_monthly' }],
    proration_behavior: 'always_invoice',
  });
  await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
  const portal = await stripe.billingPortal.sessions.create({ customer: customer.id, return_url: 'https://a.example/r' });
  const other = await stripe.customers.create({});
  await stripe.customers.del(other.id);
  const s2 = await stripe.checkout.sessions.create({
    mode: 'subscription',
    customer_email: 'x@example.com',
    line_items: [{ price: 'price_vip_monthly' }],
    success_url: 'https://a.example/s',
  });
  await stripe.checkout.sessions.expire(s2.id);
  // Money and promotions: a coupon and a code redeemed on a subscription, a refund and a dispute.
  const coupon = await stripe.coupons.create({ percent_off: 10, duration: 'forever' });
  const promo = await stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'FIDELITY' });
  const third = await stripe.customers.create({});
  const discounted = await stripe.subscriptions.create({
    customer: third.id,
    items: [{ price: 'price_premium_monthly' }],
    discounts: [{ promotion_code: promo.id }],
  });
  const [charge] = (await stripe.charges.list({ customer: third.id })).data;
  await stripe.refunds.create({ charge: charge?.id as string, amount: 100 });
  await control(emulator, 'POST', `/charges/${charge?.id}/dispute`, {});
  const throwaway = await stripe.coupons.create({ amount_off: 100, currency: 'usd' });
  const endpoint = await stripe.webhookEndpoints.create({ url: 'https://a.example/hook', enabled_events: ['invoice.paid'] });
  const deletions = [
    endpoint,
    await stripe.coupons.del(throwaway.id),
    await stripe.webhookEndpoints.del(endpoint.id),
    await stripe.subscriptionItems.del(
      (
        await stripe.subscriptionItems.create({
          subscription: discounted.id,
          price: 'price_enterprise_monthly',
          proration_behavior: 'none',
        })
      ).id,
      { proration_behavior: 'none' },
    ),
  ];
  await emulator.webhooksIdle();
  await hook.close();

  for (const path of [
    `/v1/customers/${customer.id}`,
    `/v1/customers/${other.id}`,
    '/v1/customers?limit=100',
    '/v1/prices?limit=100',
    '/v1/checkout/sessions?limit=100',
    `/v1/checkout/sessions/${session.id}?expand[]=subscription`,
    `/v1/subscriptions/${sub.id}`,
    '/v1/subscriptions?status=all&limit=100',
    '/v1/invoices?limit=100',
    '/v1/events?limit=100',
    `/v1/subscriptions/${discounted.id}?expand[]=discounts&expand[]=items.data.price.product`,
    `/v1/checkout/sessions/${session.id}/line_items`,
    `/v1/invoices/${discounted.latest_invoice}/lines`,
    `/v1/invoice_payments?invoice=${discounted.latest_invoice}`,
    '/v1/products?limit=100',
    '/v1/coupons',
    '/v1/promotion_codes',
    '/v1/charges?limit=100',
    '/v1/refunds',
    '/v1/disputes',
    `/v1/payment_intents/${charge?.payment_intent}`,
  ]) {
    collect(await raw(path), seen);
  }
  collect(portal, seen);
  collect(deletions, seen);
});
afterAll(() => emulator.close());

describe('fidelity to the installed SDK and Stripe’s schema', () => {
  it('returns every kind of object the SDK declares for the resources it serves', () => {
    for (const kind of Object.keys(sdkFields)) expect(seen.get(kind)?.length ?? 0, kind).toBeGreaterThan(0);
  });

  it('every object carries every field the SDK types declare non-optional (0 presence failures)', () => {
    const failures: string[] = [];
    for (const [kind, fields] of Object.entries(sdkFields)) {
      for (const obj of seen.get(kind) ?? []) {
        for (const [field, spec] of Object.entries(fields)) {
          if (!spec.optional && !(field in obj)) failures.push(`${kind}.${field} missing`);
          if (!spec.nullable && field in obj && obj[field] === null) failures.push(`${kind}.${field} is null but not nullable`);
        }
      }
    }
    expect([...new Set(failures)]).toEqual([]);
  });

  it('validates against Stripe’s 2023-08-16 schema for every field unchanged since then', () => {
    const validate = validators();
    const failures: string[] = [];
    for (const [kind, name] of Object.entries(DRIFTED)) {
      const fn = validate[name] as ValidateFunction;
      for (const obj of seen.get(kind) ?? []) {
        if (!fn(obj)) failures.push(...(fn.errors ?? []).map((e) => `${kind}${e.instancePath} ${e.message}`));
      }
    }
    expect([...new Set(failures)].slice(0, 30)).toEqual([]);
  });
});
