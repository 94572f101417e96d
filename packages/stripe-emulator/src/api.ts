import { createCoupon, createPromotionCode, type DiscountRequest, deleteCoupon, getCoupon, getPromotionCode } from './discounts.ts';
import { invalid, missing, required, StripeApiError } from './errors.ts';
import type { CouponDuration, Invoice, Refund, StripeEvent, Subscription, WebhookEndpoint } from './objects.ts';
import { bool, int, list, metadata, nullableStr, num, obj, type Params, reqStr, str, strings } from './params.ts';
import { createRefund, getCharge, getRefund, invoicePayments, paymentIntent } from './payments.ts';
import { mergeMetadata, newId, type PaymentBehavior, type ProrationBehavior, type RequestRef, type StripeState } from './state.ts';
import { isServedVersion, notServed } from './versions.ts';

export interface ApiContext {
  state: StripeState;
  params: Params;
  pathParams: Record<string, string>;
  request: RequestRef;
  webhookEndpointsChanged: () => void;
}

export type Handler = (ctx: ApiContext) => unknown;

interface Listable {
  id: string;
  created: number;
}

/**
 * Stripe's list envelope, newest first, with `limit` (1–100, default 10), `starting_after` and
 * `ending_before` cursors.
 */
export function paginate<T extends Listable>(items: Iterable<T>, params: Params, url: string) {
  const limit = int(params, 'limit', { min: 1, max: 100 }) ?? 10;
  const startingAfter = str(params, 'starting_after');
  const endingBefore = str(params, 'ending_before');
  // Insertion order breaks ties between objects created in the same second.
  const all = [...items].map((item, seq) => ({ item, seq }));
  all.sort((a, b) => b.item.created - a.item.created || b.seq - a.seq);
  const sorted = all.map((x) => x.item);
  let data: T[];
  let hasMore: boolean;
  if (endingBefore) {
    const idx = sorted.findIndex((x) => x.id === endingBefore);
    if (idx < 0) throw missing('object', endingBefore, 'ending_before');
    const before = sorted.slice(0, idx);
    data = before.slice(Math.max(0, before.length - limit));
    hasMore = before.length > limit;
  } else {
    let start = 0;
    if (startingAfter) {
      const idx = sorted.findIndex((x) => x.id === startingAfter);
      if (idx < 0) throw missing('object', startingAfter, 'starting_after');
      start = idx + 1;
    }
    data = sorted.slice(start, start + limit);
    hasMore = start + limit < sorted.length;
  }
  return { object: 'list' as const, data, has_more: hasMore, url };
}

/** A Checkout Session's line items as Stripe lists them (its `line_items` route and `expand[]=line_items`). */
export function checkoutLineItems(state: StripeState, sessionId: string, params: Params) {
  const session = state.checkout.get(sessionId);
  const items = state.checkout.lineItemsOf(session.id).map((l, i) => ({
    id: `li_${session.id.slice(8, 20)}${i}`,
    object: 'item',
    adjustable_quantity: null,
    amount_discount: 0,
    amount_subtotal: l.price.unit_amount * l.quantity,
    amount_tax: 0,
    amount_total: l.price.unit_amount * l.quantity,
    currency: l.price.currency,
    description: state.products.get(l.price.product)?.name ?? null,
    metadata: {},
    price: l.price,
    quantity: l.quantity,
    created: session.created,
  }));
  const page = paginate(items.reverse(), params, `/v1/checkout/sessions/${session.id}/line_items`);
  return { ...page, data: page.data.map(({ created: _c, ...rest }) => rest) };
}

function created(params: Params): (t: number) => boolean {
  const c = params.created;
  if (c === undefined) return () => true;
  if (typeof c === 'string') {
    const n = int(params, 'created') as number;
    return (t) => t === n;
  }
  const range = obj(params, 'created') ?? {};
  const bound = (k: string) => (range[k] === undefined ? undefined : int(range, k));
  const gt = bound('gt');
  const gte = bound('gte');
  const lt = bound('lt');
  const lte = bound('lte');
  return (t) =>
    (gt === undefined || t > gt) && (gte === undefined || t >= gte) && (lt === undefined || t < lt) && (lte === undefined || t <= lte);
}

type Searchable = { metadata?: Record<string, string> | null };
type Field<T> = (o: T) => string | number | boolean | null | undefined;

/**
 * Stripe's search query language: `field:'value'` (exact), `field~'value'` (substring), `field>N`
 * (also `<`, `>=`, `<=`, for numbers), `metadata['key']:'value'`, `-` to negate, joined with AND or OR
 * (not both). `fields` are the ones the resource lets you search.
 */
export function compileSearch<T extends Searchable>(query: string, fields: Record<string, Field<T>>): (o: T) => boolean {
  const clause =
    /\s*(-?)([a-z_]+|metadata\[(?:'([^']*)'|"([^"]*)")\])\s*(:|~|>=|<=|>|<)\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(-?\d+))\s*/y;
  const clauses: Array<(o: T) => boolean> = [];
  let joiner: 'AND' | 'OR' | null = null;
  let pos = 0;
  while (pos < query.length) {
    clause.lastIndex = pos;
    const m = clause.exec(query);
    if (!m) throw invalid(`Invalid search query: ${query}`, 'query');
    const negate = m[1] === '-';
    const field = m[2] as string;
    const metaKey = m[3] ?? m[4];
    const op = m[5] as string;
    const raw = m[6] ?? m[7] ?? m[8] ?? '';
    const value = raw.replace(/\\(.)/g, '$1');
    const read: Field<T> | undefined = metaKey !== undefined ? (o) => o.metadata?.[metaKey] : fields[field];
    if (!read) throw invalid(`Field '${field}' is an unsupported search field for this resource.`, 'query');
    const test = (o: T): boolean => {
      const actual = read(o);
      if (actual === undefined || actual === null) return false;
      if (op === ':') return String(actual) === value;
      if (op === '~') return String(actual).toLowerCase().includes(value.toLowerCase());
      const a = Number(actual);
      const b = Number(value);
      if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
      return op === '>' ? a > b : op === '<' ? a < b : op === '>=' ? a >= b : a <= b;
    };
    clauses.push(negate ? (o) => !test(o) : test);
    pos = clause.lastIndex;
    const rest = query.slice(pos);
    const j = /^(AND|OR)\s+/i.exec(rest);
    if (j) {
      const word = (j[1] as string).toUpperCase() as 'AND' | 'OR';
      if (joiner && joiner !== word) throw invalid('Search queries cannot mix AND and OR.', 'query');
      joiner = word;
      pos += j[0].length;
    } else if (rest.trim() !== '') throw invalid(`Invalid search query: ${query}`, 'query');
  }
  if (clauses.length === 0) throw required('query');
  return joiner === 'OR' ? (o) => clauses.some((f) => f(o)) : (o) => clauses.every((f) => f(o));
}

/** A search endpoint: matching objects newest first, with Stripe's `page` / `next_page` cursor. */
function search<T extends Searchable & { created: number }>(
  items: Iterable<T>,
  params: Params,
  url: string,
  fields: Record<string, Field<T>>,
) {
  const match = compileSearch(reqStr(params, 'query'), fields);
  const limit = int(params, 'limit', { min: 1, max: 100 }) ?? 10;
  const page = str(params, 'page');
  const offset = page ? Number.parseInt(Buffer.from(page, 'base64url').toString(), 10) : 0;
  if (!Number.isFinite(offset) || offset < 0) throw invalid('Invalid page', 'page');
  const found = [...items]
    .map((item, seq) => ({ item, seq }))
    .filter(({ item }) => match(item))
    .sort((a, b) => b.item.created - a.item.created || b.seq - a.seq)
    .map(({ item }) => item);
  const data = found.slice(offset, offset + limit);
  const hasMore = offset + limit < found.length;
  return {
    object: 'search_result' as const,
    data,
    has_more: hasMore,
    next_page: hasMore ? Buffer.from(String(offset + limit)).toString('base64url') : null,
    url,
  };
}

function customerFields(p: Params) {
  return {
    email: nullableStr(p, 'email'),
    name: nullableStr(p, 'name'),
    description: nullableStr(p, 'description'),
    phone: nullableStr(p, 'phone'),
    metadata: metadata(p),
  };
}

function definedOnly<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function subscriptionMatches(sub: Subscription, p: Params): boolean {
  const customer = str(p, 'customer');
  const price = str(p, 'price');
  const status = str(p, 'status');
  if (customer && sub.customer !== customer) return false;
  if (price && !sub.items.data.some((i) => i.price.id === price)) return false;
  if (status === undefined) return sub.status !== 'canceled' && sub.status !== 'incomplete_expired';
  if (status === 'all') return true;
  if (status === 'ended') return sub.status === 'canceled' || sub.status === 'incomplete_expired';
  return sub.status === status;
}

function invoiceMatches(inv: Invoice, p: Params): boolean {
  const customer = str(p, 'customer');
  const subscription = str(p, 'subscription');
  const status = str(p, 'status');
  if (customer && inv.customer !== customer) return false;
  if (subscription && inv.parent?.subscription_details.subscription !== subscription) return false;
  if (status && inv.status !== status) return false;
  return true;
}

function publicEndpoint(e: WebhookEndpoint, withSecret: boolean): WebhookEndpoint {
  if (withSecret) return e;
  const { secret: _secret, ...rest } = e;
  return rest;
}

const id = (ctx: ApiContext) => ctx.pathParams.id as string;

/** An absolute http(s) URL, as Stripe requires of redirect URLs (`{CHECKOUT_SESSION_ID}` allowed). */
function isWebUrl(value: string): boolean {
  try {
    const url = new URL(value.replaceAll('{CHECKOUT_SESSION_ID}', 'x'));
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** `discounts[i][coupon|promotion_code]` of a subscription or a Checkout Session. */
function discountRequests(params: Params): DiscountRequest[] {
  return list(params, 'discounts').map((d) => ({ coupon: str(d, 'coupon'), promotion_code: str(d, 'promotion_code') }));
}

/** `items[i][id|price|quantity|deleted]` of a subscription update or preview. */
function itemChanges(items: Params[]) {
  return items.map((it) => ({
    id: str(it, 'id'),
    price: str(it, 'price'),
    quantity: int(it, 'quantity', { min: 1 }),
    deleted: bool(it, 'deleted'),
  }));
}

/** Every `/v1` operation the emulator answers: `METHOD path` → handler. Order matters for matching. */
export const routes: Array<[string, string, Handler]> = [
  // customers
  [
    'GET',
    '/v1/customers/search',
    ({ state, params }) =>
      search(state.customers.values(), params, '/v1/customers/search', {
        email: (c) => c.email,
        name: (c) => c.name,
        phone: (c) => c.phone,
        created: (c) => c.created,
      }),
  ],
  [
    'GET',
    '/v1/customers',
    ({ state, params }) => {
      const email = str(params, 'email');
      const inRange = created(params);
      return paginate(
        [...state.customers.values()].filter((c) => (!email || c.email === email) && inRange(c.created)),
        params,
        '/v1/customers',
      );
    },
  ],
  ['POST', '/v1/customers', ({ state, params, request }) => state.createCustomer(customerFields(params), request)],
  [
    'GET',
    '/v1/customers/:id',
    (ctx) => {
      if (ctx.state.deletedCustomers.has(id(ctx))) return { id: id(ctx), object: 'customer', deleted: true };
      return ctx.state.getCustomer(id(ctx), 'id');
    },
  ],
  ['POST', '/v1/customers/:id', (ctx) => ctx.state.updateCustomer(id(ctx), definedOnly(customerFields(ctx.params)), ctx.request)],
  ['DELETE', '/v1/customers/:id', (ctx) => ctx.state.deleteCustomer(id(ctx), ctx.request)],

  // products and prices
  [
    'GET',
    '/v1/products',
    ({ state, params }) => {
      const active = bool(params, 'active');
      return paginate(
        [...state.products.values()].filter((p) => active === undefined || p.active === active),
        params,
        '/v1/products',
      );
    },
  ],
  [
    'POST',
    '/v1/products',
    ({ state, params, request }) =>
      state.createProduct(
        {
          name: reqStr(params, 'name'),
          description: nullableStr(params, 'description') ?? null,
          metadata: metadata(params) ?? {},
        },
        state.now(),
        request,
      ),
  ],
  [
    'GET',
    '/v1/products/search',
    ({ state, params }) =>
      search(state.products.values(), params, '/v1/products/search', {
        active: (p) => p.active,
        name: (p) => p.name,
        description: (p) => p.description,
        created: (p) => p.created,
      }),
  ],
  [
    'POST',
    '/v1/products/:id',
    (ctx) =>
      ctx.state.updateProduct(
        id(ctx),
        definedOnly({
          name: str(ctx.params, 'name'),
          description: nullableStr(ctx.params, 'description'),
          active: bool(ctx.params, 'active'),
          metadata: metadata(ctx.params),
          default_price: str(ctx.params, 'default_price'),
        }),
        ctx.request,
      ),
  ],
  [
    'GET',
    '/v1/products/:id',
    (ctx) => {
      const product = ctx.state.products.get(id(ctx));
      if (!product) throw missing('product', id(ctx));
      return product;
    },
  ],
  [
    'GET',
    '/v1/prices',
    ({ state, params }) => {
      const active = bool(params, 'active');
      const product = str(params, 'product');
      const type = str(params, 'type');
      const lookupKeys = strings(params, 'lookup_keys');
      return paginate(
        [...state.prices.values()].filter(
          (p) =>
            (active === undefined || p.active === active) &&
            (!product || p.product === product) &&
            (!type || p.type === type) &&
            (lookupKeys.length === 0 || (p.lookup_key !== null && lookupKeys.includes(p.lookup_key))),
        ),
        params,
        '/v1/prices',
      );
    },
  ],
  [
    'POST',
    '/v1/prices',
    ({ state, params, request }) => {
      const recurring = obj(params, 'recurring');
      const interval = recurring ? str(recurring, 'interval') : undefined;
      if (interval !== undefined && !['day', 'week', 'month', 'year'].includes(interval))
        throw invalid(`Invalid recurring[interval]: ${interval}`, 'recurring[interval]');
      const amount = int(params, 'unit_amount', { min: 0 });
      if (amount === undefined) throw required('unit_amount');
      return state.createPrice(
        {
          product: reqStr(params, 'product'),
          unit_amount: amount,
          currency: reqStr(params, 'currency'),
          interval: interval as 'day' | 'week' | 'month' | 'year' | undefined,
          interval_count: recurring ? int(recurring, 'interval_count', { min: 1, max: 36 }) : undefined,
          lookup_key: nullableStr(params, 'lookup_key'),
          nickname: nullableStr(params, 'nickname'),
          metadata: metadata(params),
        },
        state.now(),
        request,
      );
    },
  ],
  [
    'GET',
    '/v1/prices/search',
    ({ state, params }) =>
      search(state.prices.values(), params, '/v1/prices/search', {
        active: (p) => p.active,
        currency: (p) => p.currency,
        lookup_key: (p) => p.lookup_key,
        product: (p) => p.product,
        type: (p) => p.type,
        created: (p) => p.created,
      }),
  ],
  ['GET', '/v1/prices/:id', (ctx) => ctx.state.getPrice(id(ctx), 'price')],
  [
    'POST',
    '/v1/prices/:id',
    (ctx) =>
      ctx.state.updatePrice(
        id(ctx),
        definedOnly({
          active: bool(ctx.params, 'active'),
          nickname: nullableStr(ctx.params, 'nickname'),
          lookup_key: nullableStr(ctx.params, 'lookup_key'),
          metadata: metadata(ctx.params),
          transfer_lookup_key: bool(ctx.params, 'transfer_lookup_key'),
        }),
        ctx.request,
      ),
  ],

  // checkout
  [
    'POST',
    '/v1/checkout/sessions',
    ({ state, params, request }) => {
      const mode = reqStr(params, 'mode');
      if (!['subscription', 'payment', 'setup'].includes(mode))
        throw invalid(`Invalid mode: must be one of payment, setup, or subscription`, 'mode');
      const lineItems = list(params, 'line_items').map((li, i) => {
        const price = str(li, 'price');
        if (!price) throw required(`line_items[${i}][price]`);
        return { price, quantity: int(li, 'quantity', { min: 1, max: 999_999 }) ?? 1 };
      });
      const subscriptionData = obj(params, 'subscription_data');
      const customer = str(params, 'customer');
      const customerEmail = str(params, 'customer_email');
      if (customer && customerEmail)
        throw invalid('You may only specify one of these parameters: customer, customer_email.', 'customer_email');
      for (const key of ['success_url', 'cancel_url']) {
        const url = str(params, key);
        if (url !== undefined && !isWebUrl(url)) throw invalid('Not a valid URL', key);
      }
      const customerUpdate = obj(params, 'customer_update');
      const clientReference = str(params, 'client_reference_id');
      if (clientReference !== undefined && clientReference.length > 200)
        throw invalid('client_reference_id must be at most 200 characters.', 'client_reference_id');
      return state.checkout.create(
        {
          mode: mode as 'subscription',
          customer,
          customer_email: customerEmail,
          line_items: lineItems,
          success_url: str(params, 'success_url'),
          cancel_url: str(params, 'cancel_url'),
          client_reference_id: clientReference,
          metadata: metadata(params),
          subscription_metadata: subscriptionData ? metadata(subscriptionData) : undefined,
          subscription_trial: subscriptionData
            ? { trial_period_days: int(subscriptionData, 'trial_period_days'), trial_end: int(subscriptionData, 'trial_end') }
            : undefined,
          expires_at: int(params, 'expires_at'),
          allow_promotion_codes: bool(params, 'allow_promotion_codes'),
          discounts: discountRequests(params),
          locale: str(params, 'locale'),
          automatic_tax: bool(obj(params, 'automatic_tax') ?? {}, 'enabled'),
          customer_update: customerUpdate ? { address: str(customerUpdate, 'address'), name: str(customerUpdate, 'name') } : undefined,
        },
        request,
      );
    },
  ],
  [
    'GET',
    '/v1/checkout/sessions',
    ({ state, params }) => {
      const customer = str(params, 'customer');
      const subscription = str(params, 'subscription');
      const status = str(params, 'status');
      return paginate(
        [...state.checkoutSessions.values()].filter(
          (s) =>
            (!customer || s.customer === customer) &&
            (!subscription || s.subscription === subscription) &&
            (!status || s.status === status),
        ),
        params,
        '/v1/checkout/sessions',
      );
    },
  ],
  ['GET', '/v1/checkout/sessions/:id', (ctx) => ctx.state.checkout.get(id(ctx))],
  ['POST', '/v1/checkout/sessions/:id/expire', (ctx) => ctx.state.checkout.expire(id(ctx), ctx.request)],
  ['GET', '/v1/checkout/sessions/:id/line_items', (ctx) => checkoutLineItems(ctx.state, id(ctx), ctx.params)],

  // billing portal
  [
    'POST',
    '/v1/billing_portal/sessions',
    ({ state, params, request }) => {
      const flow = obj(params, 'flow_data');
      let flowData: { type: string; subscription?: string; after_completion_url?: string } | undefined;
      if (flow) {
        const type = reqStr(flow, 'type');
        const inner = obj(flow, type);
        const after = obj(flow, 'after_completion');
        const redirect = after ? obj(after, 'redirect') : undefined;
        flowData = definedOnly({
          type,
          subscription: inner ? str(inner, 'subscription') : undefined,
          after_completion_url: redirect ? str(redirect, 'return_url') : undefined,
        });
      }
      return state.checkout.createPortal(
        { customer: reqStr(params, 'customer'), return_url: str(params, 'return_url'), locale: str(params, 'locale'), flow_data: flowData },
        request,
      );
    },
  ],

  // subscriptions
  [
    'GET',
    '/v1/subscriptions',
    ({ state, params }) => {
      const status = str(params, 'status');
      const allowed = [
        'active',
        'all',
        'canceled',
        'ended',
        'incomplete',
        'incomplete_expired',
        'past_due',
        'paused',
        'trialing',
        'unpaid',
      ];
      if (status && !allowed.includes(status)) throw invalid(`Invalid status: must be one of ${allowed.join(', ')}`, 'status');
      const inRange = created(params);
      return paginate(
        [...state.subscriptions.values()].filter((s) => subscriptionMatches(s, params) && inRange(s.created)),
        params,
        '/v1/subscriptions',
      );
    },
  ],
  [
    'POST',
    '/v1/subscriptions',
    ({ state, params, request }) => {
      const items = list(params, 'items').map((it, i) => {
        const price = str(it, 'price');
        if (!price) throw required(`items[${i}][price]`);
        return { price, quantity: int(it, 'quantity', { min: 1 }) };
      });
      if (items.length === 0) throw required('items');
      return state.createSubscription(
        {
          customer: reqStr(params, 'customer'),
          items,
          metadata: metadata(params),
          cancel_at_period_end: bool(params, 'cancel_at_period_end'),
          trial_period_days: int(params, 'trial_period_days'),
          trial_end: params.trial_end === 'now' ? 'now' : int(params, 'trial_end'),
          payment_behavior: str(params, 'payment_behavior') as PaymentBehavior | undefined,
          discounts: discountRequests(params),
          automatic_tax: bool(obj(params, 'automatic_tax') ?? {}, 'enabled'),
        },
        request,
      );
    },
  ],
  [
    'GET',
    '/v1/subscriptions/search',
    ({ state, params }) =>
      search(state.subscriptions.values(), params, '/v1/subscriptions/search', {
        status: (s) => s.status,
        created: (s) => s.created,
      }),
  ],
  ['GET', '/v1/subscriptions/:id', (ctx) => ctx.state.getSubscription(id(ctx))],
  [
    'POST',
    '/v1/subscriptions/:id',
    (ctx) => {
      const p = ctx.params;
      const behavior = str(p, 'proration_behavior');
      if (behavior !== undefined && !['create_prorations', 'none', 'always_invoice'].includes(behavior)) {
        throw invalid('Invalid proration_behavior: must be one of always_invoice, create_prorations, or none', 'proration_behavior');
      }
      const cancellation = obj(p, 'cancellation_details');
      return ctx.state.updateSubscription(
        id(ctx),
        {
          cancel_at_period_end: bool(p, 'cancel_at_period_end'),
          metadata: metadata(p),
          items: itemChanges(list(p, 'items')),
          proration_behavior: behavior as ProrationBehavior | undefined,
          proration_date: int(p, 'proration_date'),
          payment_behavior: str(p, 'payment_behavior') as PaymentBehavior | undefined,
          cancellation_comment: cancellation ? str(cancellation, 'comment') : undefined,
        },
        ctx.request,
      );
    },
  ],
  ['DELETE', '/v1/subscriptions/:id', (ctx) => ctx.state.cancelSubscription(id(ctx), ctx.request)],

  // subscription items
  [
    'GET',
    '/v1/subscription_items',
    ({ state, params }) => {
      const sub = state.getSubscription(reqStr(params, 'subscription'));
      const items = sub.items.data.map((it, seq) => ({ ...it, created: it.created * 1000 + seq }));
      const page = paginate(items.reverse(), params, '/v1/subscription_items');
      return { ...page, data: page.data.map((it) => sub.items.data.find((x) => x.id === it.id)) };
    },
  ],
  [
    'POST',
    '/v1/subscription_items',
    ({ state, params, request }) =>
      state.createSubscriptionItem(
        {
          subscription: reqStr(params, 'subscription'),
          price: reqStr(params, 'price'),
          quantity: int(params, 'quantity', { min: 1 }),
          proration_behavior: str(params, 'proration_behavior') as ProrationBehavior | undefined,
        },
        request,
      ),
  ],
  ['GET', '/v1/subscription_items/:id', (ctx) => ctx.state.getSubscriptionItem(id(ctx)).item],
  [
    'POST',
    '/v1/subscription_items/:id',
    (ctx) =>
      ctx.state.updateSubscriptionItem(
        id(ctx),
        {
          price: str(ctx.params, 'price'),
          quantity: int(ctx.params, 'quantity', { min: 1 }),
          metadata: metadata(ctx.params),
          proration_behavior: str(ctx.params, 'proration_behavior') as ProrationBehavior | undefined,
        },
        ctx.request,
      ),
  ],
  [
    'DELETE',
    '/v1/subscription_items/:id',
    (ctx) =>
      ctx.state.deleteSubscriptionItem(
        id(ctx),
        { proration_behavior: str(ctx.params, 'proration_behavior') as ProrationBehavior | undefined },
        ctx.request,
      ),
  ],

  // invoices
  [
    'GET',
    '/v1/invoices/search',
    ({ state, params }) =>
      search(state.invoices.values(), params, '/v1/invoices/search', {
        created: (i) => i.created,
        currency: (i) => i.currency,
        customer: (i) => i.customer,
        number: (i) => i.number,
        status: (i) => i.status,
        subscription: (i) => i.parent?.subscription_details.subscription,
        total: (i) => i.total,
      }),
  ],
  [
    'POST',
    '/v1/invoices/create_preview',
    ({ state, params }) => {
      const details = obj(params, 'subscription_details') ?? {};
      return state.previewInvoice({
        customer: str(params, 'customer'),
        subscription: str(params, 'subscription'),
        items: itemChanges(list(details, 'items')),
        proration_behavior: str(details, 'proration_behavior') as ProrationBehavior | undefined,
        proration_date: int(details, 'proration_date'),
      });
    },
  ],
  ['POST', '/v1/invoices/:id/pay', (ctx) => ctx.state.payOpenInvoice(id(ctx), ctx.request)],
  ['POST', '/v1/invoices/:id/void', (ctx) => ctx.state.voidOpenInvoice(id(ctx), ctx.request)],
  ['POST', '/v1/invoices/:id/finalize', (ctx) => ctx.state.finalizeDraftInvoice(id(ctx), ctx.request)],
  [
    'GET',
    '/v1/invoices',
    ({ state, params }) => {
      const inRange = created(params);
      return paginate(
        [...state.invoices.values()].filter((i) => invoiceMatches(i, params) && inRange(i.created)),
        params,
        '/v1/invoices',
      );
    },
  ],
  [
    'GET',
    '/v1/invoices/:id',
    (ctx) => {
      const invoice = ctx.state.invoices.get(id(ctx));
      if (!invoice) throw missing('invoice', id(ctx), 'invoice');
      return invoice;
    },
  ],
  [
    'GET',
    '/v1/invoices/:id/lines',
    (ctx) => {
      const invoice = ctx.state.invoices.get(id(ctx));
      if (!invoice) throw missing('invoice', id(ctx), 'invoice');
      const lines = invoice.lines.data.map((l) => ({ ...l, created: invoice.created }));
      const page = paginate(lines.reverse(), ctx.params, `/v1/invoices/${invoice.id}/lines`);
      return { ...page, data: page.data.map(({ created: _c, ...rest }) => rest) };
    },
  ],

  // events
  [
    'GET',
    '/v1/events',
    ({ state, params }) => {
      const type = str(params, 'type');
      const types = strings(params, 'types');
      const inRange = created(params);
      const matchType = (t: string) => {
        if (types.length > 0) return types.includes(t);
        if (!type) return true;
        if (type.endsWith('.*')) return t.startsWith(type.slice(0, -1));
        return t === type;
      };
      return paginate(
        [...state.events.values()].filter((e: StripeEvent) => matchType(e.type) && inRange(e.created)),
        params,
        '/v1/events',
      );
    },
  ],
  [
    'GET',
    '/v1/events/:id',
    (ctx) => {
      const event = ctx.state.events.get(id(ctx));
      if (!event) throw missing('event', id(ctx));
      return event;
    },
  ],

  // coupons and promotion codes
  [
    'POST',
    '/v1/coupons',
    ({ state, params, request }) =>
      createCoupon(
        state,
        {
          id: str(params, 'id'),
          percent_off: num(params, 'percent_off'),
          amount_off: int(params, 'amount_off', { min: 1 }),
          currency: str(params, 'currency'),
          duration: str(params, 'duration') as CouponDuration | undefined,
          duration_in_months: int(params, 'duration_in_months', { min: 1 }),
          name: str(params, 'name'),
          max_redemptions: int(params, 'max_redemptions', { min: 1 }),
          redeem_by: int(params, 'redeem_by'),
          metadata: metadata(params),
        },
        request,
      ),
  ],
  ['GET', '/v1/coupons', ({ state, params }) => paginate(state.coupons.values(), params, '/v1/coupons')],
  ['GET', '/v1/coupons/:id', (ctx) => getCoupon(ctx.state, id(ctx), 'id')],
  [
    'POST',
    '/v1/coupons/:id',
    (ctx) => {
      const coupon = getCoupon(ctx.state, id(ctx), 'id');
      const name = str(ctx.params, 'name');
      const md = metadata(ctx.params);
      if (name !== undefined) coupon.name = name;
      if (md) coupon.metadata = mergeMetadata(coupon.metadata, md);
      ctx.state.emit('coupon.updated', coupon, ctx.request);
      return coupon;
    },
  ],
  ['DELETE', '/v1/coupons/:id', (ctx) => deleteCoupon(ctx.state, id(ctx), ctx.request)],
  [
    'POST',
    '/v1/promotion_codes',
    ({ state, params, request }) => {
      const promotion = obj(params, 'promotion');
      if (!promotion) throw required('promotion');
      const restrictions = obj(params, 'restrictions') ?? {};
      return createPromotionCode(
        state,
        {
          coupon: reqStr(promotion, 'coupon'),
          code: str(params, 'code'),
          active: bool(params, 'active'),
          customer: str(params, 'customer'),
          expires_at: int(params, 'expires_at'),
          max_redemptions: int(params, 'max_redemptions', { min: 1 }),
          first_time_transaction: bool(restrictions, 'first_time_transaction'),
          minimum_amount: int(restrictions, 'minimum_amount', { min: 0 }),
          minimum_amount_currency: str(restrictions, 'minimum_amount_currency'),
          metadata: metadata(params),
        },
        request,
      );
    },
  ],
  [
    'GET',
    '/v1/promotion_codes',
    ({ state, params }) => {
      const code = str(params, 'code');
      const active = bool(params, 'active');
      const coupon = str(params, 'coupon');
      const customer = str(params, 'customer');
      return paginate(
        [...state.promotionCodes.values()].filter(
          (p) =>
            (code === undefined || p.code.toLowerCase() === code.toLowerCase()) &&
            (active === undefined || p.active === active) &&
            (coupon === undefined || p.promotion.coupon === coupon) &&
            (customer === undefined || p.customer === customer),
        ),
        params,
        '/v1/promotion_codes',
      );
    },
  ],
  ['GET', '/v1/promotion_codes/:id', (ctx) => getPromotionCode(ctx.state, id(ctx), 'id')],
  [
    'POST',
    '/v1/promotion_codes/:id',
    (ctx) => {
      const promo = getPromotionCode(ctx.state, id(ctx), 'id');
      const active = bool(ctx.params, 'active');
      const md = metadata(ctx.params);
      if (active !== undefined) promo.active = active;
      if (md) promo.metadata = mergeMetadata(promo.metadata, md);
      ctx.state.emit('promotion_code.updated', promo, ctx.request);
      return promo;
    },
  ],

  // charges, invoice payments, refunds and disputes
  [
    'GET',
    '/v1/charges',
    ({ state, params }) => {
      const customer = str(params, 'customer');
      const pi = str(params, 'payment_intent');
      return paginate(
        [...state.charges.values()].filter((c) => (!customer || c.customer === customer) && (!pi || c.payment_intent === pi)),
        params,
        '/v1/charges',
      );
    },
  ],
  ['GET', '/v1/charges/:id', (ctx) => getCharge(ctx.state, id(ctx), 'id')],
  ['GET', '/v1/payment_intents/:id', (ctx) => paymentIntent(ctx.state, id(ctx))],
  [
    'GET',
    '/v1/invoice_payments',
    ({ state, params }) => {
      const invoice = str(params, 'invoice');
      const payment = obj(params, 'payment');
      const paymentIntent = payment ? str(payment, 'payment_intent') : undefined;
      if (payment && str(payment, 'type') === 'payment_intent' && !paymentIntent)
        throw invalid('Missing required param: payment[payment_intent].', 'payment[payment_intent]');
      const all = invoice ? invoicePayments(state, invoice) : [...state.invoiceCharges.keys()].flatMap((i) => invoicePayments(state, i));
      return paginate(
        all.filter((p) => !payment || p.payment.payment_intent === paymentIntent),
        params,
        '/v1/invoice_payments',
      );
    },
  ],
  [
    'POST',
    '/v1/refunds',
    ({ state, params, request }) =>
      createRefund(
        state,
        {
          charge: str(params, 'charge'),
          payment_intent: str(params, 'payment_intent'),
          amount: int(params, 'amount', { min: 1 }),
          reason: str(params, 'reason') as Refund['reason'] | undefined,
          metadata: metadata(params),
        },
        request,
      ),
  ],
  [
    'GET',
    '/v1/refunds',
    ({ state, params }) => {
      const charge = str(params, 'charge');
      const pi = str(params, 'payment_intent');
      return paginate(
        [...state.refunds.values()].filter((r) => (!charge || r.charge === charge) && (!pi || r.payment_intent === pi)),
        params,
        '/v1/refunds',
      );
    },
  ],
  ['GET', '/v1/refunds/:id', (ctx) => getRefund(ctx.state, id(ctx))],
  [
    'GET',
    '/v1/disputes',
    ({ state, params }) => {
      const charge = str(params, 'charge');
      return paginate(
        [...state.disputes.values()].filter((d) => !charge || d.charge === charge),
        params,
        '/v1/disputes',
      );
    },
  ],
  [
    'GET',
    '/v1/disputes/:id',
    (ctx) => {
      const dispute = ctx.state.disputes.get(id(ctx));
      if (!dispute) throw missing('dispute', id(ctx));
      return dispute;
    },
  ],

  // webhook endpoints
  [
    'POST',
    '/v1/webhook_endpoints',
    ({ state, params, webhookEndpointsChanged }) => {
      const url = reqStr(params, 'url');
      try {
        new URL(url);
      } catch {
        throw invalid('Invalid URL: must be a valid URL.', 'url');
      }
      const events = strings(params, 'enabled_events');
      if (events.length === 0) throw required('enabled_events');
      const apiVersion = str(params, 'api_version');
      if (apiVersion !== undefined && !isServedVersion(apiVersion)) {
        throw invalid(notServed(apiVersion), 'api_version');
      }
      const endpoint: WebhookEndpoint = {
        id: newId('we'),
        object: 'webhook_endpoint',
        api_version: apiVersion ?? null,
        application: null,
        created: state.now(),
        description: nullableStr(params, 'description') ?? null,
        enabled_events: events,
        livemode: false,
        metadata: metadata(params) ?? {},
        secret: `whsec_${newId('x').slice(2)}`,
        status: 'enabled',
        url,
      };
      state.webhookEndpoints.set(endpoint.id, endpoint);
      webhookEndpointsChanged();
      return endpoint;
    },
  ],
  [
    'GET',
    '/v1/webhook_endpoints',
    ({ state, params }) =>
      paginate(
        [...state.webhookEndpoints.values()].map((e) => publicEndpoint(e, false)),
        params,
        '/v1/webhook_endpoints',
      ),
  ],
  [
    'GET',
    '/v1/webhook_endpoints/:id',
    (ctx) => {
      const e = ctx.state.webhookEndpoints.get(id(ctx));
      if (!e) throw missing('webhook_endpoint', id(ctx));
      return publicEndpoint(e, false);
    },
  ],
  [
    'POST',
    '/v1/webhook_endpoints/:id',
    (ctx) => {
      const e = ctx.state.webhookEndpoints.get(id(ctx));
      if (!e) throw missing('webhook_endpoint', id(ctx));
      const url = str(ctx.params, 'url');
      if (url) e.url = url;
      const events = strings(ctx.params, 'enabled_events');
      if (events.length > 0) e.enabled_events = events;
      const disabled = bool(ctx.params, 'disabled');
      if (disabled !== undefined) e.status = disabled ? 'disabled' : 'enabled';
      const md = metadata(ctx.params);
      if (md) e.metadata = mergeMetadata(e.metadata, md);
      ctx.webhookEndpointsChanged();
      return publicEndpoint(e, false);
    },
  ],
  [
    'DELETE',
    '/v1/webhook_endpoints/:id',
    (ctx) => {
      if (!ctx.state.webhookEndpoints.delete(id(ctx))) throw missing('webhook_endpoint', id(ctx));
      ctx.webhookEndpointsChanged();
      return { id: id(ctx), object: 'webhook_endpoint', deleted: true };
    },
  ],
];

/** Replaces ids with objects along each `expand[]` path (`customer`, `data.subscription`, `items.data.price.product`). */
export type Includer = (object: Record<string, unknown>, field: string) => unknown;

/**
 * Replaces ids with objects along each `expand[]` path (paths already checked against the spec),
 * and fills in fields Stripe only includes when asked (`line_items`).
 */
export function expand(value: unknown, paths: string[], lookup: (id: string) => unknown, include: Includer): unknown {
  let out = value;
  for (const path of paths) out = expandPath(out, path.split('.'), lookup, include);
  return out;
}

function expandPath(value: unknown, parts: string[], lookup: (id: string) => unknown, include: Includer): unknown {
  if (parts.length === 0) return value;
  if (Array.isArray(value)) return value.map((v) => expandPath(v, parts, lookup, include));
  if (value === null || typeof value !== 'object') return value;
  const [head, ...rest] = parts as [string, ...string[]];
  const record = value as Record<string, unknown>;
  if (!(head in record)) {
    const included = include(record, head);
    if (included === undefined) return value;
    return { ...record, [head]: expandPath(included, rest, lookup, include) };
  }
  let child = record[head];
  if (typeof child === 'string') {
    const found = lookup(child);
    if (found === undefined)
      throw new StripeApiError(400, 'invalid_request_error', `This property cannot be expanded (${head}).`, { param: 'expand' });
    child = structuredClone(found);
  }
  return { ...record, [head]: expandPath(child, rest, lookup, include) };
}
