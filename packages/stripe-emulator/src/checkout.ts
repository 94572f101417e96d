import { checkRedeemable, type DiscountRequest, discountAmount, findPromotionCodeByCode } from './discounts.ts';
import { invalid, missing } from './errors.ts';
import { type CheckoutSession, checkoutSessionObject, type Metadata, newId, type PortalSession, type Price } from './objects.ts';
import { AUTOMATIC, CHECKOUT_TTL, type RequestRef, type StripeState } from './state.ts';

export type SessionTrial = { trial_period_days?: number | undefined; trial_end?: number | undefined };

/**
 * The hosted flows: Checkout Sessions (created open, paid on the hosted page or through the control
 * API, expired) and billing portal sessions. A subscription-mode session starts its subscription
 * only when it is paid.
 */
export class CheckoutDesk {
  constructor(private readonly state: StripeState) {}

  clear(): void {
    this.lines.clear();
    this.subscriptionMetadata.clear();
    this.trials.clear();
    this.automaticTax.clear();
  }

  create(
    input: {
      mode: 'subscription' | 'payment' | 'setup';
      customer?: string | undefined;
      customer_email?: string | undefined;
      line_items: Array<{ price: string; quantity: number }>;
      success_url?: string | undefined;
      cancel_url?: string | undefined;
      client_reference_id?: string | undefined;
      metadata?: Metadata | undefined;
      subscription_metadata?: Metadata | undefined;
      subscription_trial?: { trial_period_days?: number | undefined; trial_end?: number | undefined } | undefined;
      expires_at?: number | undefined;
      allow_promotion_codes?: boolean | undefined;
      discounts?: DiscountRequest[] | undefined;
      locale?: string | undefined;
      automatic_tax?: boolean | undefined;
      customer_update?: { address?: string | undefined; name?: string | undefined } | undefined;
    },
    // Creating a session emits no event in Stripe; the request is accepted for symmetry only.
    _request: RequestRef,
  ): CheckoutSession {
    if (input.mode !== 'subscription') {
      throw invalid('This emulator supports `mode=subscription` checkout sessions only.', 'mode');
    }
    const known = input.customer ? this.state.getCustomer(input.customer, 'customer') : undefined;
    if (input.customer_update && !known) throw invalid('customer_update can only be used with customer.', 'customer_update');
    // Stripe Tax needs the customer's address: one on file, or the one entered in Checkout saved to it.
    if (input.automatic_tax && known && !known.address && input.customer_update?.address !== 'auto') {
      throw invalid(
        "Automatic tax calculation in Checkout requires a valid address on the Customer. Add a valid address to the Customer or set either `customer_update[address]` to 'auto' or `customer_update[shipping]` to 'auto' to save the address entered in Checkout.",
        'customer_update[address]',
      );
    }
    if (input.line_items.length === 0) {
      throw invalid('You must provide at least one recurring price in `subscription` mode when using prices.', 'line_items');
    }
    let amount = 0;
    let currency = '';
    input.line_items.forEach((item, i) => {
      const price = this.state.getPrice(item.price, `line_items[${i}][price]`);
      if (price.type !== 'recurring') {
        throw invalid('You must provide at least one recurring price in `subscription` mode when using prices.', `line_items[${i}][price]`);
      }
      if (currency && price.currency !== currency) throw invalid('All prices must use the same currency.', `line_items[${i}][price]`);
      currency = price.currency;
      amount += price.unit_amount * item.quantity;
    });
    const created = this.state.now();
    const trial = input.subscription_trial ?? {};
    // Validated now, as Stripe does, though the subscription starts only once the session is paid.
    const trialing = this.state.trialEndOf(created, trial.trial_period_days, trial.trial_end) !== null;
    if (input.allow_promotion_codes && (input.discounts ?? []).length > 0) {
      throw invalid('You may only specify one of these parameters: allow_promotion_codes, discounts.', 'discounts');
    }
    const discounts = (input.discounts ?? []).map((d, i) => {
      const { coupon, promo } = checkRedeemable(this.state, d, input.customer ?? null, amount, `discounts[${i}]`);
      return { coupon, promotion_code: promo?.id ?? null };
    });
    const subtotal = amount;
    if (trialing) amount = 0;
    amount = discounts.reduce((left, d) => left - discountAmount(d.coupon, left), amount);
    if (input.expires_at !== undefined && (input.expires_at < created + 1800 || input.expires_at > created + CHECKOUT_TTL)) {
      throw invalid('The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.', 'expires_at');
    }
    const id = newId('cs_test');
    const customer = input.customer ? this.state.customers.get(input.customer) : undefined;
    const session = checkoutSessionObject(
      id,
      { ...input, baseUrl: this.state.publicUrl(), expires_at: input.expires_at ?? created + CHECKOUT_TTL },
      {
        customer,
        currency,
        subtotal,
        amount,
        trialing,
        discounts: discounts.map((d) => ({ coupon: d.promotion_code ? null : d.coupon.id, promotion_code: d.promotion_code })),
      },
      created,
    );
    this.state.checkoutSessions.set(id, session);
    this.lines.set(id, input.line_items);
    this.subscriptionMetadata.set(id, input.subscription_metadata ?? {});
    if (trialing) this.trials.set(id, trial);
    if (input.automatic_tax) this.automaticTax.add(id);
    return session;
  }

  readonly lines = new Map<string, Array<{ price: string; quantity: number }>>();
  /** Sessions whose subscription is created with Stripe Tax on. */
  readonly automaticTax = new Set<string>();
  readonly subscriptionMetadata = new Map<string, Metadata>();
  readonly trials = new Map<string, { trial_period_days?: number | undefined; trial_end?: number | undefined }>();

  /** The session's trial, counted from now (a `trial_period_days` trial starts when the session is paid). */
  private trialFor(sessionId: string): { trial_period_days?: number; trial_end?: number } {
    const trial = this.trials.get(sessionId);
    if (trial?.trial_period_days !== undefined) return { trial_period_days: trial.trial_period_days };
    if (trial?.trial_end !== undefined && trial.trial_end > this.state.now() + 1) return { trial_end: trial.trial_end };
    return {};
  }

  lineItemsOf(sessionId: string): Array<{ price: Price; quantity: number }> {
    return (this.lines.get(sessionId) ?? []).map((l) => ({ price: this.state.getPrice(l.price), quantity: l.quantity }));
  }

  get(id: string): CheckoutSession {
    const session = this.state.checkoutSessions.get(id);
    if (!session) throw missing('checkout.session', id, 'session');
    return session;
  }

  expire(id: string, request: RequestRef): CheckoutSession {
    const session = this.get(id);
    if (session.status !== 'open') {
      throw invalid(
        `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`,
      );
    }
    session.status = 'expired';
    session.url = null;
    this.state.emit('checkout.session.expired', session, request);
    return session;
  }

  /**
   * What the hosted page's Pay button does: pays with the customer's card and starts the
   * subscription. As on Stripe, a subscription-mode session creates the subscription only when the
   * payment succeeds: a declined card leaves nothing behind but the customer, and the session open,
   * so the person can pay again on the same page.
   */
  complete(id: string, outcome: 'succeeded' | 'card_declined' = 'succeeded', promotionCode?: string | undefined): CheckoutSession {
    const session = this.get(id);
    if (promotionCode) {
      // The code a person typed on the page (only where the session allows codes).
      if (!session.allow_promotion_codes) throw invalid('This Checkout Session does not accept promotion codes.', 'promotion_code');
      const promo = findPromotionCodeByCode(this.state, promotionCode);
      if (!promo) throw invalid('This code is invalid.', 'promotion_code');
      const coupon = checkRedeemable(
        this.state,
        { promotion_code: promo.id },
        session.customer,
        session.amount_subtotal ?? 0,
        'promotion_code',
      ).coupon;
      session.discounts = [{ coupon: null, promotion_code: promo.id }];
      session.amount_total = Math.max(0, (session.amount_subtotal ?? 0) - discountAmount(coupon, session.amount_subtotal ?? 0));
      session.total_details.amount_discount = (session.amount_subtotal ?? 0) - (session.amount_total ?? 0);
    }
    if (session.status === 'expired' || session.expires_at <= this.state.now()) {
      if (session.status === 'open') this.expire(id, AUTOMATIC);
      throw invalid('This Checkout Session has expired.');
    }
    if (session.status === 'complete') throw invalid('This Checkout Session is already complete.');
    let customerId = session.customer;
    if (!customerId) {
      const customer = this.state.createCustomer({ email: session.customer_email }, AUTOMATIC);
      customerId = customer.id;
      session.customer = customerId;
      session.customer_details = {
        address: null,
        business_name: null,
        email: customer.email,
        individual_name: null,
        name: null,
        phone: null,
        tax_exempt: 'none',
        tax_ids: [],
      };
    }
    const declined = outcome === 'card_declined' || this.state.failingCards.has(customerId);
    if (declined && !session.subscription) return session;

    let sub = session.subscription ? this.state.subscriptions.get(session.subscription) : undefined;
    if (sub && sub.status === 'incomplete') {
      if (declined) {
        const invoice = sub.latest_invoice ? this.state.invoices.get(sub.latest_invoice) : undefined;
        if (invoice) this.state.failPayment(invoice, AUTOMATIC);
        return session;
      }
      const invoice = sub.latest_invoice ? this.state.invoices.get(sub.latest_invoice) : undefined;
      if (invoice && invoice.status === 'open') this.state.payInvoice(invoice, AUTOMATIC);
      this.state.setSubscriptionStatus(sub, 'active', AUTOMATIC);
    } else {
      const items = this.lineItemsOf(id).map((l) => ({ price: l.price.id, quantity: l.quantity }));
      sub = this.state.createSubscription(
        {
          customer: customerId,
          items,
          metadata: this.subscriptionMetadata.get(id) ?? {},
          declined,
          ...this.trialFor(id),
          discounts: session.discounts.map((d) => (d.promotion_code ? { promotion_code: d.promotion_code } : { coupon: d.coupon ?? '' })),
          checkout_session: id,
          automatic_tax: this.automaticTax.has(id),
        },
        AUTOMATIC,
      );
      session.subscription = sub.id;
    }
    if (sub.status === 'incomplete') return session;

    session.status = 'complete';
    session.payment_status = 'paid';
    session.url = null;
    this.state.emit('checkout.session.completed', session, AUTOMATIC);
    return session;
  }

  createPortal(
    input: {
      customer: string;
      return_url?: string | undefined;
      locale?: string | undefined;
      flow_data?: { type: string; subscription?: string | undefined; after_completion_url?: string | undefined } | undefined;
    },
    request: RequestRef,
  ): PortalSession {
    this.state.getCustomer(input.customer, 'customer');
    const id = newId('bps');
    let flow: PortalSession['flow'] = null;
    if (input.flow_data) {
      const type = input.flow_data.type;
      const allowed = ['payment_method_update', 'subscription_cancel', 'subscription_update', 'subscription_update_confirm'];
      if (!allowed.includes(type)) throw invalid(`Invalid flow_data[type]: must be one of ${allowed.join(', ')}`, 'flow_data[type]');
      const subscription = input.flow_data.subscription;
      if ((type === 'subscription_cancel' || type === 'subscription_update') && !subscription) {
        throw invalid(`Missing required param: flow_data[${type}][subscription].`, `flow_data[${type}][subscription]`);
      }
      if (subscription) {
        const sub = this.state.getSubscription(subscription);
        if (sub.customer !== input.customer)
          throw invalid('The subscription does not belong to this customer.', `flow_data[${type}][subscription]`);
      }
      const redirect = input.flow_data.after_completion_url;
      flow = {
        type,
        after_completion: redirect
          ? { type: 'redirect', redirect: { return_url: redirect }, hosted_confirmation: null }
          : { type: 'portal_homepage', redirect: null, hosted_confirmation: null },
        subscription_cancel: type === 'subscription_cancel' && subscription ? { retention: null, subscription } : null,
        subscription_update: type === 'subscription_update' && subscription ? { subscription } : null,
        subscription_update_confirm: null,
      };
    }
    const session: PortalSession = {
      id,
      object: 'billing_portal.session',
      configuration: 'bpc_emulator_default',
      created: this.state.now(),
      customer: input.customer,
      customer_account: null,
      flow,
      livemode: false,
      locale: input.locale ?? null,
      on_behalf_of: null,
      return_url: input.return_url ?? null,
      url: `${this.state.publicUrl()}/portal/${id}`,
    };
    this.state.portalSessions.set(id, session);
    this.state.emit('billing_portal.session.created', session, request);
    return session;
  }
}
