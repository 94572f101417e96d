import { CheckoutDesk, type SessionTrial } from './checkout.ts';
import { BillingClock } from './clock.ts';
import { applyDiscounts, checkRedeemable, type DiscountRequest, redeem } from './discounts.ts';
import { cardDeclined, invalid, missing, required, StripeApiError } from './errors.ts';
import {
  API_VERSION,
  type BillingReason,
  type Charge,
  type CheckoutSession,
  type Coupon,
  type Customer,
  customerObject,
  type Discount,
  type Dispute,
  emptyInvoice,
  type Interval,
  type Invoice,
  type InvoiceLine,
  type Metadata,
  newId,
  type PortalSession,
  type Price,
  type PriceInput,
  type Product,
  type PromotionCode,
  planFromPrice,
  priceObject,
  productObject,
  type Refund,
  type StripeEvent,
  type Subscription,
  type SubscriptionItem,
  type SubscriptionStatus,
  subscriptionItemObject,
  subscriptionObject,
  type WebhookEndpoint,
} from './objects.ts';
import { CLEARS_METADATA } from './params.ts';
import { recordCharge } from './payments.ts';

export { newId } from './objects.ts';

export interface SeedPrice {
  /** Deterministic price id (e.g. `price_premium_monthly`); generated when absent. */
  id?: string;
  lookup_key: string;
  product_name: string;
  unit_amount: number;
  currency?: string;
  interval?: Interval;
  features?: string[];
}

const PREMIUM = ['Unlimited projects', 'Priority support', 'Export to PDF'];
const VIP = ['Everything in Premium', 'Dedicated manager', 'Early access to new features'];

/** The demo's prices: a product per plan, each with a monthly price and, for two, a yearly one. */
export const DEFAULT_CATALOG: SeedPrice[] = [
  { id: 'price_premium_monthly', lookup_key: 'premium_monthly', product_name: 'Premium', unit_amount: 2900, features: PREMIUM },
  {
    id: 'price_premium_yearly',
    lookup_key: 'premium_yearly',
    product_name: 'Premium',
    unit_amount: 29_000,
    interval: 'year',
    features: PREMIUM,
  },
  { id: 'price_vip_monthly', lookup_key: 'vip_monthly', product_name: 'VIP', unit_amount: 9900, features: VIP },
  { id: 'price_vip_yearly', lookup_key: 'vip_yearly', product_name: 'VIP', unit_amount: 99_000, interval: 'year', features: VIP },
  {
    id: 'price_enterprise_monthly',
    lookup_key: 'enterprise_monthly',
    product_name: 'Enterprise',
    unit_amount: 29900,
    features: ['Everything in VIP', 'SLA and invoicing', 'Single sign-on'],
  },
];

/** Who caused a change: the API request (its id and idempotency key) or Stripe itself (null). */
export interface RequestRef {
  id: string | null;
  idempotency_key: string | null;
}

export const AUTOMATIC: RequestRef = { id: null, idempotency_key: null };
const DAY = 86_400;
export const CHECKOUT_TTL = DAY;
const RETRY_AFTER = 3 * DAY;
const MAX_PAYMENT_ATTEMPTS = 4;

export type ProrationBehavior = 'create_prorations' | 'none' | 'always_invoice';
export type PaymentBehavior = 'allow_incomplete' | 'default_incomplete' | 'error_if_incomplete' | 'pending_if_incomplete';

export function addInterval(from: number, interval: Interval, count: number): number {
  const d = new Date(from * 1000);
  switch (interval) {
    case 'day':
      return from + count * DAY;
    case 'week':
      return from + count * 7 * DAY;
    case 'month':
    case 'year': {
      const months = interval === 'month' ? count : count * 12;
      const day = d.getUTCDate();
      const target = new Date(d);
      target.setUTCDate(1);
      target.setUTCMonth(target.getUTCMonth() + months);
      const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
      target.setUTCDate(Math.min(day, lastDay));
      return Math.floor(target.getTime() / 1000);
    }
  }
}

export function shallowDiff(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const prev: Record<string, unknown> = {};
  for (const key of Object.keys(after)) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) prev[key] = before[key] ?? null;
  }
  return prev;
}

/**
 * The emulated account: every object, the clock, and the rules that move objects through their
 * lifecycle. Every state change emits the event Stripe would emit, through `onEvent`.
 */
export class StripeState {
  readonly customers = new Map<string, Customer>();
  readonly deletedCustomers = new Set<string>();
  readonly products = new Map<string, Product>();
  readonly prices = new Map<string, Price>();
  readonly checkoutSessions = new Map<string, CheckoutSession>();
  readonly portalSessions = new Map<string, PortalSession>();
  readonly subscriptions = new Map<string, Subscription>();
  readonly invoices = new Map<string, Invoice>();
  readonly events = new Map<string, StripeEvent>();
  readonly webhookEndpoints = new Map<string, WebhookEndpoint>();
  readonly coupons = new Map<string, Coupon>();
  readonly promotionCodes = new Map<string, PromotionCode>();
  readonly discounts = new Map<string, Discount>();
  readonly charges = new Map<string, Charge>();
  /** The charge that paid each invoice, and the payment intent made for it at finalization. */
  readonly invoiceCharges = new Map<string, string>();
  readonly invoicePaymentIntents = new Map<string, string>();
  readonly refunds = new Map<string, Refund>();
  readonly disputes = new Map<string, Dispute>();
  /** Checkout and portal sessions: the hosted flows. */
  readonly checkout = new CheckoutDesk(this);
  /** Customers whose card is declined, set through the control API. */
  readonly failingCards = new Set<string>();
  /** Prorations waiting for the next renewal invoice, by subscription. */
  private readonly pendingProrations = new Map<string, InvoiceLine[]>();
  /** The account's clock and the billing cycle it drives. */
  readonly clock = new BillingClock(this);

  constructor(
    private readonly baseUrl: () => string,
    private readonly onEvent: (event: StripeEvent) => void,
    private readonly catalog: SeedPrice[] = DEFAULT_CATALOG,
  ) {
    this.seedCatalog();
  }

  now(): number {
    return this.clock.now();
  }

  /** The base URL of hosted pages (receipts, invoices). */
  publicUrl(): string {
    return this.baseUrl();
  }

  reset(): void {
    for (const map of [
      this.customers,
      this.products,
      this.prices,
      this.checkoutSessions,
      this.portalSessions,
      this.subscriptions,
      this.invoices,
      this.events,
      this.webhookEndpoints,
      this.coupons,
      this.promotionCodes,
      this.discounts,
      this.charges,
      this.invoiceCharges,
      this.invoicePaymentIntents,
      this.refunds,
      this.disputes,
    ] as Array<Map<string, unknown>>) {
      map.clear();
    }
    this.deletedCustomers.clear();
    this.checkout.clear();
    this.failingCards.clear();
    this.pendingProrations.clear();
    this.clock.reset();
    this.seedCatalog();
  }

  private seedCatalog(): void {
    const created = this.now();
    // Prices of one product name (monthly and yearly) share the product; the first is its default price.
    const products = new Map<string, ReturnType<StripeState['createProduct']>>();
    for (const seed of this.catalog) {
      const known = products.get(seed.product_name);
      const product = known ?? this.createProduct({ name: seed.product_name, features: seed.features ?? [] }, created);
      products.set(seed.product_name, product);
      const price = this.createPrice(
        {
          id: seed.id,
          product: product.id,
          unit_amount: seed.unit_amount,
          currency: seed.currency ?? 'usd',
          interval: seed.interval ?? 'month',
          lookup_key: seed.lookup_key,
          nickname: seed.product_name,
        },
        created,
      );
      if (!known) product.default_price = price.id;
    }
  }

  // ---------------------------------------------------------------- events

  emit(type: string, object: { id: string }, request: RequestRef, previous?: Record<string, unknown>): StripeEvent {
    const event: StripeEvent = {
      id: newId('evt'),
      object: 'event',
      api_version: API_VERSION,
      created: this.now(),
      data: {
        object: structuredClone(object) as unknown as Record<string, unknown>,
        ...(previous && Object.keys(previous).length > 0 ? { previous_attributes: structuredClone(previous) } : {}),
      },
      livemode: false,
      pending_webhooks: 0,
      request: { ...request },
      type,
    };
    this.events.set(event.id, event);
    this.onEvent(event);
    return event;
  }

  /** Emits `type` with the fields that changed (`previous_attributes`), or nothing when none did. */
  emitIfChanged(type: string, before: object, after: { id: string }, request: RequestRef): boolean {
    const previous = shallowDiff(before as never, after as never);
    if (Object.keys(previous).length === 0) return false;
    this.emit(type, after, request, previous);
    return true;
  }

  // ---------------------------------------------------------------- lookups

  getCustomer(id: string, param = 'customer'): Customer {
    const customer = this.customers.get(id);
    if (!customer) throw missing('customer', id, param);
    return customer;
  }

  getPrice(id: string, param = 'price'): Price {
    const price = this.prices.get(id);
    if (!price) throw missing('price', id, param);
    return price;
  }

  getSubscription(id: string): Subscription {
    const sub = this.subscriptions.get(id);
    if (!sub) throw missing('subscription', id);
    return sub;
  }

  // ---------------------------------------------------------------- catalog

  createProduct(
    input: { name: string; description?: string | null; features?: string[]; metadata?: Metadata },
    created = this.now(),
    request?: RequestRef,
  ): Product {
    const product = productObject(input, created);
    this.products.set(product.id, product);
    if (request) this.emit('product.created', product, request);
    return product;
  }

  updateProduct(
    id: string,
    input: { name?: string; description?: string | null; active?: boolean; metadata?: Metadata; default_price?: string },
    request: RequestRef,
  ): Product {
    const product = this.products.get(id);
    if (!product) throw missing('product', id, 'id');
    const before = structuredClone(product);
    if (input.default_price !== undefined) {
      const price = this.getPrice(input.default_price, 'default_price');
      if (price.product !== product.id) throw invalid('The default price must belong to this product.', 'default_price');
      product.default_price = price.id;
    }
    if (input.name !== undefined) product.name = input.name;
    if (input.description !== undefined) product.description = input.description;
    if (input.active !== undefined) product.active = input.active;
    if (input.metadata !== undefined) product.metadata = mergeMetadata(product.metadata, input.metadata);
    if (Object.keys(shallowDiff(before as never, product as never)).length > 0) product.updated = this.now();
    this.emitIfChanged('product.updated', before, product, request);
    return product;
  }

  updatePrice(
    id: string,
    input: { active?: boolean; nickname?: string | null; lookup_key?: string | null; metadata?: Metadata; transfer_lookup_key?: boolean },
    request: RequestRef,
  ): Price {
    const price = this.getPrice(id, 'id');
    const before = structuredClone(price);
    if (input.lookup_key !== undefined && input.lookup_key !== null && input.lookup_key !== price.lookup_key) {
      const holder = [...this.prices.values()].find((p) => p.lookup_key === input.lookup_key);
      if (holder && !input.transfer_lookup_key) {
        throw invalid(`A price (\`${holder.id}\`) already uses that lookup key. Pass transfer_lookup_key=true to move it.`, 'lookup_key');
      }
      if (holder) holder.lookup_key = null;
    }
    if (input.active !== undefined) price.active = input.active;
    if (input.nickname !== undefined) price.nickname = input.nickname;
    if (input.lookup_key !== undefined) price.lookup_key = input.lookup_key;
    if (input.metadata !== undefined) price.metadata = mergeMetadata(price.metadata, input.metadata);
    this.emitIfChanged('price.updated', before, price, request);
    return price;
  }

  createPrice(input: PriceInput, created = this.now(), request?: RequestRef): Price {
    if (!this.products.has(input.product)) throw missing('product', input.product, 'product');
    const price = priceObject(input, created);
    if (input.lookup_key && [...this.prices.values()].some((p) => p.lookup_key === input.lookup_key)) {
      throw invalid(`A price already uses the lookup key '${input.lookup_key}'.`, 'lookup_key');
    }
    this.prices.set(price.id, price);
    if (request) this.emit('price.created', price, request);
    return price;
  }

  // ---------------------------------------------------------------- customers

  createCustomer(
    input: { email?: string | null; name?: string | null; description?: string | null; phone?: string | null; metadata?: Metadata },
    request: RequestRef,
  ): Customer {
    const customer = customerObject(newId('cus'), this.now(), input);
    this.customers.set(customer.id, customer);
    this.emit('customer.created', customer, request);
    return customer;
  }

  updateCustomer(
    id: string,
    input: { email?: string | null; name?: string | null; description?: string | null; phone?: string | null; metadata?: Metadata },
    request: RequestRef,
  ): Customer {
    const customer = this.getCustomer(id, 'id');
    const before = structuredClone(customer);
    if (input.email !== undefined) customer.email = input.email;
    if (input.name !== undefined) customer.name = input.name;
    if (input.description !== undefined) customer.description = input.description;
    if (input.phone !== undefined) customer.phone = input.phone;
    if (input.metadata !== undefined) customer.metadata = mergeMetadata(customer.metadata, input.metadata);
    this.emitIfChanged('customer.updated', before, customer, request);
    return customer;
  }

  deleteCustomer(id: string, request: RequestRef): { id: string; object: 'customer'; deleted: true } {
    const customer = this.getCustomer(id, 'id');
    for (const sub of this.subscriptions.values()) {
      if (sub.customer === id && isLive(sub.status)) this.cancelSubscription(sub.id, request);
    }
    this.customers.delete(id);
    this.deletedCustomers.add(id);
    this.emit('customer.deleted', customer, request);
    return { id, object: 'customer', deleted: true };
  }

  // ---------------------------------------------------------------- subscriptions

  createSubscription(
    input: {
      customer: string;
      items: Array<{ price: string; quantity?: number | undefined }>;
      metadata?: Metadata | undefined;
      declined?: boolean | undefined;
      cancel_at_period_end?: boolean | undefined;
      /** Days of free trial, or the trial's end (a timestamp; `'now'` for none). */
      trial_period_days?: number | undefined;
      trial_end?: number | 'now' | undefined;
      payment_behavior?: PaymentBehavior | undefined;
      /** Coupons or promotion codes to redeem on the subscription. */
      discounts?: DiscountRequest[] | undefined;
      checkout_session?: string | undefined;
      /** Stripe Tax on its invoices (no tax registrations here: the tax computed is 0). */
      automatic_tax?: boolean | undefined;
    },
    request: RequestRef,
  ): Subscription {
    const customer = this.getCustomer(input.customer, 'customer');
    if (input.items.length === 0) throw invalid('Missing required param: items.', 'items');
    // As Stripe: automatic tax needs the customer's location (Checkout collects one, the API does not).
    if (input.automatic_tax && !input.checkout_session && !customer.address) {
      throw new StripeApiError(
        400,
        'invalid_request_error',
        "The customer's location isn't recognized. Add a valid address to the customer.",
        {
          code: 'customer_tax_location_invalid',
          param: 'customer',
        },
      );
    }
    const now = this.now();
    const id = newId('sub');
    const prices = input.items.map((item, i) => this.getPrice(item.price, `items[${i}][price]`));
    const first = prices[0];
    if (!first?.recurring) throw invalid('The price specified is not a recurring price.', 'items[0][price]');
    const trialEnd = this.trialEndOf(now, input.trial_period_days, input.trial_end);
    const end = trialEnd ?? addInterval(now, first.recurring.interval, first.recurring.interval_count);
    const behavior = input.payment_behavior ?? 'allow_incomplete';
    const declined = trialEnd === null && (input.declined ?? this.failingCards.has(customer.id));
    // error_if_incomplete: a payment that fails creates nothing and answers the card error.
    if (declined && behavior === 'error_if_incomplete') throw cardDeclined();
    const firstAmount = prices.reduce((sum, p, i) => sum + p.unit_amount * (input.items[i]?.quantity ?? 1), 0);
    const redeemable = (input.discounts ?? []).map((d, i) => checkRedeemable(this, d, customer.id, firstAmount, `discounts[${i}]`));
    const items = prices.map((price, i) => subscriptionItemObject(id, price, input.items[i]?.quantity ?? 1, now, end));
    const sub = subscriptionObject(
      id,
      {
        customer: customer.id,
        currency: first.currency,
        items,
        metadata: input.metadata ?? {},
        trialEnd,
        automaticTax: input.automatic_tax,
      },
      now,
    );
    this.subscriptions.set(id, sub);
    for (const target of redeemable) {
      sub.discounts.push(
        redeem(this, target, { customer: customer.id, subscription: id, checkout_session: input.checkout_session }, request).id,
      );
    }
    const invoice = this.createInvoice(sub, 'subscription_create', now, end, [], { trial: trialEnd !== null });
    sub.latest_invoice = invoice.id;
    // default_incomplete: the first invoice waits, open, for the payment to be confirmed (invoices.pay).
    const waits = trialEnd === null && behavior === 'default_incomplete';
    if (!declined && !waits) {
      sub.status = trialEnd === null ? 'active' : 'trialing';
      if (input.cancel_at_period_end) {
        sub.cancel_at_period_end = true;
        sub.cancel_at = end;
      }
    }
    this.emit('customer.subscription.created', sub, request);
    this.emit('invoice.created', invoice, request);
    this.finalizeInvoice(invoice, request);
    if (waits) return sub;
    if (declined) this.failPayment(invoice, request);
    else this.payInvoice(invoice, request);
    return sub;
  }

  /** A trial's end from `trial_period_days` or `trial_end`, validated as Stripe does; null for none. */
  trialEndOf(now: number, days: number | undefined, end: number | 'now' | undefined): number | null {
    if (days !== undefined && end !== undefined) {
      throw invalid('You may only specify one of these parameters: trial_end, trial_period_days.', 'trial_end');
    }
    if (days !== undefined) {
      if (days < 0 || days > 730) throw invalid('The maximum number of trial period days is 730 (2 years).', 'trial_period_days');
      return days === 0 ? null : now + days * DAY;
    }
    if (end === undefined || end === 'now') return null;
    if (end <= now + 1) throw invalid('Invalid timestamp: must be an integer Unix timestamp in the future.', 'trial_end');
    if (end > now + 730 * DAY) throw invalid('Invalid timestamp: can be no more than 730 days in the future.', 'trial_end');
    return end;
  }

  updateSubscription(
    id: string,
    input: {
      cancel_at_period_end?: boolean | undefined;
      metadata?: Metadata | undefined;
      items?:
        | Array<{ id?: string | undefined; price?: string | undefined; quantity?: number | undefined; deleted?: boolean | undefined }>
        | undefined;
      proration_behavior?: ProrationBehavior | undefined;
      /** Prorate as though the change were made then: the moment an invoice preview was priced at. */
      proration_date?: number | undefined;
      payment_behavior?: PaymentBehavior | undefined;
      cancellation_comment?: string | undefined;
    },
    request: RequestRef,
  ): Subscription {
    const sub = this.getSubscription(id);
    if (sub.status === 'canceled' || sub.status === 'incomplete_expired') {
      throw invalid(`A canceled subscription can only update its cancellation_details and metadata.`);
    }
    const before = structuredClone(sub);
    if (input.metadata !== undefined) sub.metadata = mergeMetadata(sub.metadata, input.metadata);
    if (input.cancel_at_period_end !== undefined) {
      sub.cancel_at_period_end = input.cancel_at_period_end;
      const end = sub.items.data[0]?.current_period_end ?? null;
      sub.cancel_at = input.cancel_at_period_end ? end : null;
      sub.canceled_at = input.cancel_at_period_end ? this.now() : null;
      sub.cancellation_details = input.cancel_at_period_end
        ? { comment: input.cancellation_comment ?? null, feedback: null, reason: 'cancellation_requested' }
        : { comment: null, feedback: null, reason: null };
    }
    let prorationInvoice: Invoice | undefined;
    if (input.items && input.items.length > 0) {
      const now = this.prorationMoment(sub, input.proration_date);
      const prorations: InvoiceLine[] = [];
      input.items.forEach((change, i) => {
        if (change.deleted) {
          if (!change.id) throw required(`items[${i}][id]`);
          prorations.push(...this.removeItem(sub, change.id, now, `items[${i}][id]`));
          return;
        }
        // As on Stripe, an entry without an id adds an item.
        const item = change.id ? sub.items.data.find((it) => it.id === change.id) : undefined;
        if (!item && change.id) throw invalid(`No such subscription item: '${change.id}'`, `items[${i}][id]`);
        if (!item) {
          if (!change.price) throw required(`items[${i}][price]`);
          prorations.push(...this.addItem(sub, change.price, change.quantity ?? 1, now, `items[${i}][price]`));
          return;
        }
        const before = { price: item.price, quantity: item.quantity };
        if (change.price) {
          const price = this.getPrice(change.price, `items[${i}][price]`);
          if (price.currency !== sub.currency)
            throw invalid('The price currency must match the subscription currency.', `items[${i}][price]`);
          item.price = structuredClone(price);
          item.plan = planFromPrice(price);
        }
        if (change.quantity !== undefined) item.quantity = change.quantity;
        prorations.push(...this.prorationLines(sub, item, before, now));
      });
      sub.currency = sub.items.data[0]?.price.currency ?? sub.currency;
      prorationInvoice = this.settleProrations(sub, input.proration_behavior === 'none' ? [] : prorations, input.proration_behavior, now);
    }
    // error_if_incomplete: a proration charge that would fail leaves the subscription as it was.
    if (prorationInvoice && input.payment_behavior === 'error_if_incomplete' && this.failingCards.has(sub.customer)) {
      if (prorationInvoice.total > 0) {
        this.invoices.delete(prorationInvoice.id);
        Object.assign(sub, before);
        throw cardDeclined();
      }
    }
    this.emitIfChanged('customer.subscription.updated', before, sub, request);
    if (prorationInvoice) this.chargeNow(prorationInvoice, request);
    return sub;
  }

  /**
   * Now, or a `proration_date` inside the current period (Stripe refuses others). An update is
   * prorated at a moment already past; a preview may price one later in the period.
   */
  private prorationMoment(sub: Subscription, date: number | undefined, use: 'update' | 'preview' = 'update'): number {
    const now = this.now();
    if (date === undefined) return now;
    const item = sub.items.data[0];
    const start = item?.current_period_start ?? now;
    const latest = use === 'update' ? now : (item?.current_period_end ?? now);
    if (date < start || date > latest) {
      throw invalid(
        use === 'update'
          ? 'The proration_date must be within the current billing period and not in the future.'
          : 'The proration_date must be within the current billing period.',
        use === 'update' ? 'proration_date' : 'subscription_details[proration_date]',
      );
    }
    return date;
  }

  cancelSubscription(
    id: string,
    request: RequestRef,
    reason: 'cancellation_requested' | 'payment_failed' = 'cancellation_requested',
  ): Subscription {
    const sub = this.getSubscription(id);
    if (sub.status === 'canceled' || sub.status === 'incomplete_expired') {
      throw invalid(`This subscription has already been canceled.`);
    }
    const before = structuredClone(sub);
    const now = this.now();
    sub.status = sub.status === 'incomplete' ? 'incomplete_expired' : 'canceled';
    sub.canceled_at = sub.canceled_at ?? now;
    sub.ended_at = now;
    sub.cancellation_details = { comment: sub.cancellation_details.comment, feedback: null, reason };
    for (const invoice of this.invoices.values()) {
      if (invoice.parent?.subscription_details.subscription === sub.id && invoice.status === 'open') {
        this.voidInvoice(invoice, request);
      }
    }
    this.emit('customer.subscription.deleted', sub, request, shallowDiff(before as never, sub as never));
    return sub;
  }

  /** A new item on a live subscription, in its current period: the remaining time is prorated. */
  private addItem(sub: Subscription, priceId: string, quantity: number, now: number, param: string): InvoiceLine[] {
    const price = this.getPrice(priceId, param);
    if (!price.recurring) throw invalid('The price specified is not a recurring price.', param);
    if (price.currency !== sub.currency) throw invalid('The price currency must match the subscription currency.', param);
    if (sub.items.data.some((it) => it.price.id === price.id)) {
      throw invalid('Cannot add multiple subscription items with the same plan.', param);
    }
    const first = sub.items.data[0];
    const item = subscriptionItemObject(
      sub.id,
      price,
      quantity,
      first?.current_period_start ?? now,
      first?.current_period_end ?? addInterval(now, price.recurring.interval, price.recurring.interval_count),
    );
    item.created = now;
    sub.items.data.push(item);
    sub.items.total_count = sub.items.data.length;
    return this.prorationLines(sub, item, { price, quantity: 0 }, now);
  }

  /** Removes an item (never the last one), crediting its unused time. */
  private removeItem(sub: Subscription, itemId: string, now: number, param: string): InvoiceLine[] {
    const index = sub.items.data.findIndex((it) => it.id === itemId);
    const item = sub.items.data[index];
    if (!item) throw invalid(`No such subscription item: '${itemId}'`, param);
    if (sub.items.data.length === 1) {
      throw invalid(
        'A subscription must have at least one active plan. To cancel a subscription, please use the cancel API endpoint on /v1/subscriptions.',
        param,
      );
    }
    sub.items.data.splice(index, 1);
    sub.items.total_count = sub.items.data.length;
    return this.prorationLines(sub, { ...item, quantity: 0 }, { price: item.price, quantity: item.quantity }, now);
  }

  /** `always_invoice` bills prorations at once (the invoice is returned, charged by the caller); otherwise they wait for the renewal. */
  private settleProrations(
    sub: Subscription,
    prorations: InvoiceLine[],
    behavior: ProrationBehavior | undefined,
    now: number,
  ): Invoice | undefined {
    if (prorations.length === 0) return undefined;
    if (behavior === 'always_invoice') {
      const invoice = this.createInvoice(sub, 'subscription_update', now, now, prorations);
      sub.latest_invoice = invoice.id;
      return invoice;
    }
    this.pendingProrations.set(sub.id, [...(this.pendingProrations.get(sub.id) ?? []), ...prorations]);
    return undefined;
  }

  /** Finalizes and charges an invoice now: paid when nothing is due or the card works. */
  private chargeNow(invoice: Invoice, request: RequestRef): void {
    this.emit('invoice.created', invoice, request);
    this.finalizeInvoice(invoice, request);
    if (invoice.amount_due <= 0 || !this.failingCards.has(invoice.customer)) this.payInvoice(invoice, request);
    else this.failPayment(invoice, request);
  }

  // ---------------------------------------------------------------- subscription items

  getSubscriptionItem(id: string): { sub: Subscription; item: SubscriptionItem } {
    for (const sub of this.subscriptions.values()) {
      const item = sub.items.data.find((it) => it.id === id);
      if (item) return { sub, item };
    }
    throw missing('subscription_item', id, 'id');
  }

  createSubscriptionItem(
    input: { subscription: string; price: string; quantity?: number | undefined; proration_behavior?: ProrationBehavior | undefined },
    request: RequestRef,
  ): SubscriptionItem {
    const sub = this.getSubscription(input.subscription);
    this.updateSubscription(
      sub.id,
      {
        items: [...sub.items.data.map((it) => ({ id: it.id })), { price: input.price, quantity: input.quantity }],
        proration_behavior: input.proration_behavior,
      },
      request,
    );
    return sub.items.data.at(-1) as SubscriptionItem;
  }

  updateSubscriptionItem(
    id: string,
    input: {
      price?: string | undefined;
      quantity?: number | undefined;
      proration_behavior?: ProrationBehavior | undefined;
      metadata?: Metadata | undefined;
    },
    request: RequestRef,
  ): SubscriptionItem {
    const { sub, item } = this.getSubscriptionItem(id);
    if (input.metadata !== undefined) item.metadata = mergeMetadata(item.metadata, input.metadata);
    if (input.price !== undefined || input.quantity !== undefined) {
      this.updateSubscription(
        sub.id,
        { items: [{ id, price: input.price, quantity: input.quantity }], proration_behavior: input.proration_behavior },
        request,
      );
    }
    return this.getSubscriptionItem(id).item;
  }

  deleteSubscriptionItem(
    id: string,
    input: { proration_behavior?: ProrationBehavior | undefined },
    request: RequestRef,
  ): { id: string; object: 'subscription_item'; deleted: true } {
    const { sub } = this.getSubscriptionItem(id);
    this.updateSubscription(sub.id, { items: [{ id, deleted: true }], proration_behavior: input.proration_behavior }, request);
    return { id, object: 'subscription_item', deleted: true };
  }

  // ---------------------------------------------------------------- invoice actions

  getInvoice(id: string): Invoice {
    const invoice = this.invoices.get(id);
    if (!invoice) throw missing('invoice', id, 'invoice');
    return invoice;
  }

  /** `invoices.pay`: charges an open invoice; a declined card is a 402 and a failed attempt. */
  payOpenInvoice(id: string, request: RequestRef): Invoice {
    const invoice = this.getInvoice(id);
    if (invoice.status === 'paid') throw invalid('Invoice is already paid.');
    if (invoice.status === 'void') throw invalid('This invoice has been voided and can no longer be paid.');
    if (invoice.status === 'draft') this.finalizeInvoice(invoice, request);
    if (invoice.amount_due > 0 && this.failingCards.has(invoice.customer)) {
      this.failPayment(invoice, request);
      throw cardDeclined();
    }
    this.payInvoice(invoice, request);
    const sub = invoice.parent ? this.subscriptions.get(invoice.parent.subscription_details.subscription) : undefined;
    if (sub && (sub.status === 'incomplete' || sub.status === 'past_due' || sub.status === 'unpaid')) {
      this.setSubscriptionStatus(sub, 'active', request);
    }
    return invoice;
  }

  voidOpenInvoice(id: string, request: RequestRef): Invoice {
    const invoice = this.getInvoice(id);
    if (invoice.status !== 'open') throw invalid(`You can only void open invoices. This invoice is ${invoice.status}.`);
    this.voidInvoice(invoice, request);
    return invoice;
  }

  finalizeDraftInvoice(id: string, request: RequestRef): Invoice {
    const invoice = this.getInvoice(id);
    if (invoice.status !== 'draft') throw invalid("This invoice is already finalized, you can't re-finalize a non-draft invoice.");
    this.finalizeInvoice(invoice, request);
    return invoice;
  }

  /**
   * `invoices.createPreview`: what the next invoice would be, stored nowhere. With item changes and
   * `always_invoice`, the proration invoice a change would bill now; otherwise the renewal, with
   * pending and new prorations. The customer's balance is applied as it would be.
   */
  previewInvoice(input: {
    customer?: string | undefined;
    subscription?: string | undefined;
    items?: Array<{ id?: string | undefined; price?: string | undefined; quantity?: number | undefined; deleted?: boolean | undefined }>;
    proration_behavior?: ProrationBehavior | undefined;
    proration_date?: number | undefined;
  }): Invoice {
    if (!input.subscription) {
      if (input.customer) this.getCustomer(input.customer, 'customer');
      throw new StripeApiError(404, 'invalid_request_error', `No upcoming invoices for customer: ${input.customer ?? ''}`, {
        code: 'invoice_upcoming_none',
      });
    }
    const real = this.getSubscription(input.subscription);
    if (input.customer && input.customer !== real.customer) {
      throw invalid('The subscription does not belong to this customer.', 'subscription');
    }
    if (!isLive(real.status)) throw invalid('The subscription has ended and has no upcoming invoice.', 'subscription');
    const sub = structuredClone(real);
    const now = this.prorationMoment(sub, input.proration_date, 'preview');
    const prorations: InvoiceLine[] = [];
    for (const [i, change] of (input.items ?? []).entries()) {
      if (change.deleted && change.id) {
        prorations.push(...this.removeItem(sub, change.id, now, `subscription_details[items][${i}][id]`));
        continue;
      }
      const item = change.id ? sub.items.data.find((it) => it.id === change.id) : undefined;
      if (!item) {
        if (change.id) throw invalid(`No such subscription item: '${change.id}'`, `subscription_details[items][${i}][id]`);
        if (!change.price) throw required(`subscription_details[items][${i}][price]`);
        prorations.push(...this.addItem(sub, change.price, change.quantity ?? 1, now, `subscription_details[items][${i}][price]`));
        continue;
      }
      const before = { price: item.price, quantity: item.quantity };
      if (change.price) item.price = structuredClone(this.getPrice(change.price, `subscription_details[items][${i}][price]`));
      if (change.quantity !== undefined) item.quantity = change.quantity;
      prorations.push(...this.prorationLines(sub, item, before, now));
    }
    const counted = input.proration_behavior === 'none' ? [] : prorations;
    const first = sub.items.data[0] as SubscriptionItem;
    const invoice =
      input.proration_behavior === 'always_invoice'
        ? this.buildInvoice(sub, 'subscription_update', now, now, counted)
        : (() => {
            for (const item of sub.items.data) {
              const interval = item.price.recurring?.interval ?? 'month';
              item.current_period_start = item.current_period_end;
              item.current_period_end = addInterval(item.current_period_end, interval, item.price.recurring?.interval_count ?? 1);
            }
            const pending = this.pendingProrations.get(sub.id) ?? [];
            return this.buildInvoice(sub, 'subscription_cycle', first.current_period_start, first.current_period_end, [
              ...pending,
              ...counted,
            ]);
          })();
    // Discounts as they would apply, without using them up.
    const saved = sub.discounts.map((d) => [d, structuredClone(this.discounts.get(d))] as const);
    applyDiscounts(this, invoice, sub.discounts);
    for (const [d, copy] of saved) if (copy) this.discounts.set(d, copy);
    const balance = this.customers.get(sub.customer)?.balance ?? 0;
    const applied = invoice.total + balance;
    return {
      ...invoice,
      id: `upcoming_in_${invoice.id.slice(3)}`,
      hosted_invoice_url: null,
      invoice_pdf: null,
      starting_balance: balance,
      ending_balance: null,
      amount_due: Math.max(0, applied),
      amount_remaining: Math.max(0, applied),
    };
  }

  /**
   * Stripe itemises a mid-period change: a credit for the unused time on what the item was, and a
   * charge for the remaining time on what it is now, each prorated to the second.
   */
  private prorationLines(
    sub: Subscription,
    item: SubscriptionItem,
    before: { price: Price; quantity: number },
    now: number,
  ): InvoiceLine[] {
    if (before.price.id === item.price.id && before.quantity === item.quantity) return [];
    const span = item.current_period_end - item.current_period_start;
    const remaining = Math.max(0, item.current_period_end - now);
    if (span <= 0 || remaining === 0) return [];
    const share = (amount: number) => Math.round((amount * remaining) / span);
    const day = new Date(now * 1000).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
    const name = (price: Price) => this.products.get(price.product)?.name ?? price.nickname ?? price.id;
    const qty = (q: number) => (q === 1 ? '' : `${q} × `);
    const credit = this.line(
      sub,
      { ...item, price: before.price, quantity: before.quantity },
      -share(before.price.unit_amount * before.quantity),
      `Unused time on ${qty(before.quantity)}${name(before.price)} after ${day}`,
      now,
      item.current_period_end,
      true,
    );
    const debit = this.line(
      sub,
      item,
      share(item.price.unit_amount * item.quantity),
      `Remaining time on ${qty(item.quantity)}${name(item.price)} after ${day}`,
      now,
      item.current_period_end,
      true,
    );
    return [credit, debit].filter((l) => l.amount !== 0);
  }

  setSubscriptionStatus(sub: Subscription, status: SubscriptionStatus, request: RequestRef): void {
    if (sub.status === status) return;
    const before = structuredClone(sub);
    sub.status = status;
    this.emit('customer.subscription.updated', sub, request, shallowDiff(before as never, sub as never));
  }

  // ---------------------------------------------------------------- invoices

  private line(
    sub: Subscription,
    item: SubscriptionItem,
    amount: number,
    description: string,
    start: number,
    end: number,
    proration: boolean,
  ): InvoiceLine {
    return {
      id: newId('il'),
      object: 'line_item',
      amount,
      currency: sub.currency,
      description,
      discount_amounts: [],
      discountable: !proration,
      discounts: [],
      invoice: '',
      livemode: false,
      metadata: {},
      parent: {
        type: 'subscription_item_details',
        invoice_item_details: null,
        subscription_item_details: {
          invoice_item: proration ? newId('ii') : null,
          proration,
          proration_details: { credited_items: null },
          subscription: sub.id,
          subscription_item: item.id,
        },
      },
      period: { end, start },
      pretax_credit_amounts: [],
      pricing: {
        type: 'price_details',
        price_details: { price: item.price.id, product: item.price.product },
        unit_amount_decimal: String(item.price.unit_amount),
      },
      quantity: item.quantity,
      quantity_decimal: String(item.quantity),
      subscription: sub.id,
      subtotal: amount,
      taxes: [],
    };
  }

  createInvoice(
    sub: Subscription,
    reason: BillingReason,
    start: number,
    end: number,
    extraLines: InvoiceLine[] = [],
    options: { trial?: boolean } = {},
  ): Invoice {
    const invoice = this.buildInvoice(sub, reason, start, end, extraLines, options);
    sub.discounts = applyDiscounts(this, invoice, sub.discounts);
    this.invoices.set(invoice.id, invoice);
    return invoice;
  }

  /** An invoice object for `sub`, not stored (`createInvoice` stores it; previews do not). */
  private buildInvoice(
    sub: Subscription,
    reason: BillingReason,
    start: number,
    end: number,
    extraLines: InvoiceLine[] = [],
    options: { trial?: boolean } = {},
  ): Invoice {
    const customer = this.customers.get(sub.customer);
    const id = newId('in');
    const lines =
      reason === 'subscription_update'
        ? extraLines
        : [
            ...extraLines,
            ...sub.items.data.map((item) => {
              const productName = this.products.get(item.price.product)?.name ?? 'Subscription';
              if (options.trial) return this.line(sub, item, 0, `Trial period for ${productName}`, start, end, false);
              return this.line(
                sub,
                item,
                item.price.unit_amount * item.quantity,
                `${item.quantity} × ${productName} (at ${formatMoney(item.price.unit_amount, item.price.currency)} / ${item.price.recurring?.interval ?? 'month'})`,
                start,
                end,
                false,
              );
            }),
          ];
    for (const l of lines) l.invoice = id;
    const total = lines.reduce((sum, l) => sum + l.amount, 0);
    const base = this.baseUrl();
    const invoice: Invoice = {
      ...emptyInvoice(),
      id,
      created: this.now(),
      currency: sub.currency,
      customer: sub.customer,
      customer_email: customer?.email ?? null,
      customer_name: customer?.name ?? null,
      customer_phone: customer?.phone ?? null,
      billing_reason: reason,
      description: null,
      hosted_invoice_url: `${base}/invoices/${id}`,
      invoice_pdf: `${base}/invoices/${id}/pdf`,
      lines: { object: 'list', data: lines, has_more: false, total_count: lines.length, url: `/v1/invoices/${id}/lines` },
      amount_due: Math.max(0, total),
      amount_remaining: Math.max(0, total),
      ending_balance: null,
      period_start: start,
      period_end: end,
      status: 'draft',
      subtotal: total,
      subtotal_excluding_tax: total,
      total,
      total_excluding_tax: total,
      parent: {
        type: 'subscription_details',
        quote_details: null,
        subscription_details: { metadata: { ...sub.metadata }, subscription: sub.id },
      },
    };
    return invoice;
  }

  finalizeInvoice(invoice: Invoice, request: RequestRef): void {
    const customer = this.customers.get(invoice.customer);
    const now = this.now();
    invoice.status = 'open';
    invoice.effective_at = now;
    invoice.status_transitions.finalized_at = now;
    // The customer's balance is applied: a credit (negative) lowers what is due, and a negative total
    // (a downgrade's proration) becomes credit for the next invoice.
    const starting = customer?.balance ?? 0;
    const applied = invoice.total + starting;
    invoice.starting_balance = starting;
    invoice.ending_balance = Math.min(applied, 0);
    invoice.amount_due = Math.max(0, applied);
    invoice.amount_remaining = invoice.amount_due;
    if (customer && customer.balance !== invoice.ending_balance) {
      const previous = { balance: customer.balance };
      customer.balance = invoice.ending_balance;
      this.emit('customer.updated', customer, request, previous);
    }
    if (customer) {
      invoice.number = `${customer.invoice_prefix}-${String(customer.next_invoice_sequence).padStart(4, '0')}`;
      customer.next_invoice_sequence += 1;
    }
    this.emit('invoice.finalized', invoice, request);
  }

  payInvoice(invoice: Invoice, request: RequestRef): void {
    const now = this.now();
    invoice.status = 'paid';
    invoice.attempted = true;
    invoice.attempt_count += invoice.amount_due > 0 ? 1 : 0;
    invoice.amount_paid = invoice.amount_due;
    invoice.amount_remaining = 0;
    invoice.next_payment_attempt = null;
    invoice.status_transitions.paid_at = now;
    invoice.webhooks_delivered_at = invoice.webhooks_delivered_at ?? now;
    recordCharge(this, invoice, request);
    this.emit('invoice.paid', invoice, request);
    this.emit('invoice.payment_succeeded', invoice, request);
  }

  failPayment(invoice: Invoice, request: RequestRef): void {
    invoice.attempted = true;
    invoice.attempt_count += 1;
    const sub = invoice.parent ? this.subscriptions.get(invoice.parent.subscription_details.subscription) : undefined;
    const creating = invoice.billing_reason === 'subscription_create';
    invoice.next_payment_attempt = creating || invoice.attempt_count >= MAX_PAYMENT_ATTEMPTS ? null : this.now() + RETRY_AFTER;
    invoice.webhooks_delivered_at = invoice.webhooks_delivered_at ?? this.now();
    const customer = this.customers.get(invoice.customer);
    if (customer && !customer.delinquent) customer.delinquent = true;
    this.emit('invoice.payment_failed', invoice, request);
    if (sub && !creating && (sub.status === 'active' || sub.status === 'trialing')) this.setSubscriptionStatus(sub, 'past_due', request);
    if (sub && !creating && invoice.attempt_count >= MAX_PAYMENT_ATTEMPTS && isLive(sub.status)) {
      this.cancelSubscription(sub.id, AUTOMATIC, 'payment_failed');
    }
  }

  private voidInvoice(invoice: Invoice, request: RequestRef): void {
    invoice.status = 'void';
    invoice.amount_remaining = 0;
    invoice.next_payment_attempt = null;
    invoice.status_transitions.voided_at = this.now();
    this.emit('invoice.voided', invoice, request);
  }

  // ---------------------------------------------------------------- time

  /** Moves the account's clock forward and runs everything that falls due (`clock.ts`). */
  advanceClock(seconds: number): { now: number } {
    return this.clock.advance(seconds);
  }

  /** Prorations waiting for the next renewal of `subscriptionId`, taken (they go on that invoice). */
  takePendingProrations(subscriptionId: string): InvoiceLine[] {
    const lines = this.pendingProrations.get(subscriptionId) ?? [];
    this.pendingProrations.delete(subscriptionId);
    return lines;
  }

  /** Everything needed to bring the account back after a restart (demo persistence). */
  snapshot(): StateSnapshot {
    return {
      version: 1,
      clockOffset: this.clock.offset,
      customers: [...this.customers.values()],
      deletedCustomers: [...this.deletedCustomers],
      products: [...this.products.values()],
      prices: [...this.prices.values()],
      checkoutSessions: [...this.checkoutSessions.values()],
      sessionLines: [...this.checkout.lines.entries()],
      sessionSubscriptionMetadata: [...this.checkout.subscriptionMetadata.entries()],
      sessionTrials: [...this.checkout.trials.entries()],
      sessionAutomaticTax: [...this.checkout.automaticTax],
      portalSessions: [...this.portalSessions.values()],
      subscriptions: [...this.subscriptions.values()],
      invoices: [...this.invoices.values()],
      events: [...this.events.values()].slice(-5_000),
      webhookEndpoints: [...this.webhookEndpoints.values()],
      failingCards: [...this.failingCards],
      pendingProrations: [...this.pendingProrations.entries()],
      trialWillEndSent: [...this.clock.trialWillEndSent],
      coupons: [...this.coupons.values()],
      promotionCodes: [...this.promotionCodes.values()],
      discounts: [...this.discounts.values()],
      charges: [...this.charges.values()],
      invoiceCharges: [...this.invoiceCharges.entries()],
      invoicePaymentIntents: [...this.invoicePaymentIntents.entries()],
      refunds: [...this.refunds.values()],
      disputes: [...this.disputes.values()],
    };
  }

  restore(snap: StateSnapshot): void {
    if (snap.version !== 1) throw new Error(`unsupported emulator state version ${String(snap.version)}`);
    this.reset();
    this.products.clear();
    this.prices.clear();
    this.clock.offset = snap.clockOffset;
    const fill = <T extends { id: string }>(map: Map<string, T>, items: T[]) => {
      for (const item of items) map.set(item.id, item);
    };
    fill(this.customers, snap.customers);
    for (const id of snap.deletedCustomers) this.deletedCustomers.add(id);
    fill(this.products, snap.products);
    fill(this.prices, snap.prices);
    fill(this.checkoutSessions, snap.checkoutSessions);
    for (const [k, v] of snap.sessionLines) this.checkout.lines.set(k, v);
    for (const [k, v] of snap.sessionSubscriptionMetadata) this.checkout.subscriptionMetadata.set(k, v);
    for (const [k, v] of snap.sessionTrials ?? []) this.checkout.trials.set(k, v);
    for (const k of snap.sessionAutomaticTax ?? []) this.checkout.automaticTax.add(k);
    fill(this.portalSessions, snap.portalSessions);
    fill(this.subscriptions, snap.subscriptions);
    fill(this.invoices, snap.invoices);
    fill(this.events, snap.events);
    fill(this.webhookEndpoints, snap.webhookEndpoints);
    for (const id of snap.failingCards) this.failingCards.add(id);
    for (const [k, v] of snap.pendingProrations) this.pendingProrations.set(k, v);
    for (const id of snap.trialWillEndSent ?? []) this.clock.trialWillEndSent.add(id);
    fill(this.coupons, snap.coupons ?? []);
    fill(this.promotionCodes, snap.promotionCodes ?? []);
    fill(this.discounts, snap.discounts ?? []);
    fill(this.charges, snap.charges ?? []);
    for (const [k, v] of snap.invoiceCharges ?? []) this.invoiceCharges.set(k, v);
    for (const [k, v] of snap.invoicePaymentIntents ?? []) this.invoicePaymentIntents.set(k, v);
    fill(this.refunds, snap.refunds ?? []);
    fill(this.disputes, snap.disputes ?? []);
  }

  setCardFails(customerId: string, fails: boolean): void {
    const customer = this.getCustomer(customerId, 'customer');
    if (fails) this.failingCards.add(customer.id);
    else {
      this.failingCards.delete(customer.id);
      customer.delinquent = false;
    }
  }
}

export interface StateSnapshot {
  version: 1;
  clockOffset: number;
  customers: Customer[];
  deletedCustomers: string[];
  products: Product[];
  prices: Price[];
  checkoutSessions: CheckoutSession[];
  sessionLines: Array<[string, Array<{ price: string; quantity: number }>]>;
  sessionSubscriptionMetadata: Array<[string, Metadata]>;
  portalSessions: PortalSession[];
  subscriptions: Subscription[];
  invoices: Invoice[];
  events: StripeEvent[];
  webhookEndpoints: WebhookEndpoint[];
  failingCards: string[];
  pendingProrations: Array<[string, InvoiceLine[]]>;
  trialWillEndSent?: string[];
  sessionTrials?: Array<[string, SessionTrial]>;
  sessionAutomaticTax?: string[];
  coupons?: Coupon[];
  promotionCodes?: PromotionCode[];
  discounts?: Discount[];
  charges?: Charge[];
  invoiceCharges?: Array<[string, string]>;
  invoicePaymentIntents?: Array<[string, string]>;
  refunds?: Refund[];
  disputes?: Dispute[];
}

export function isLive(status: SubscriptionStatus): boolean {
  return status === 'active' || status === 'trialing' || status === 'past_due' || status === 'unpaid' || status === 'paused';
}

/** Stripe's metadata update rule: keys merge; an empty value deletes the key. */
/** Stripe's update of metadata: `metadata=` clears all, `metadata[k]=` removes k, others set. */
export function mergeMetadata(current: Metadata, update: Metadata): Metadata {
  if (CLEARS_METADATA in update) return {};
  const out: Metadata = { ...current };
  for (const [key, value] of Object.entries(update)) {
    if (value === '') delete out[key];
    else out[key] = value;
  }
  return out;
}

export function formatMoney(amount: number, currency: string): string {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase() }).format(amount / 100);
}
