import { isUserId } from '../customers/resolve-owner.ts';
import type { Executor } from '../db/executor.ts';
import type { BillingDeps } from '../deps.ts';
import { type Entitlements, entitlementsOf } from '../entitlements/entitlements.ts';
import { type InvoiceView, listInvoices } from '../invoices/list-invoices.ts';
import { stripeCall } from '../stripe/stripe-errors.ts';
import { getSubscription, type SubscriptionView } from '../subscriptions/get-subscription.ts';
import { toUser, type User } from '../users/user.repository.ts';

/**
 * The operator's view of one person: "what is this user's billing state, and why". The mirror and
 * Stripe side by side (with every difference named), the events that shaped it and what became of
 * them, the payments that came back, and the notices the bot sent. `pnpm billing:user` prints it;
 * `GET /api/v1/admin/users/{id}` answers it as JSON (admin scope).
 */
export interface BillingState {
  user: {
    id: string;
    name: string;
    email: string | null;
    telegram_id: number | null;
    platform_subject: string | null;
    created_at: string;
    bot_blocked: boolean;
  };
  stripe_customer_id: string | null;
  /** What the person sees now, and what other services are told. */
  now: { subscription: SubscriptionView; entitlements: Entitlements };
  mirror: {
    subscriptions: Array<{
      id: string;
      plan_id: string | null;
      status: string;
      cancel_at_period_end: boolean;
      current_period_end: string | null;
      updated_at: string;
    }>;
    star_subscriptions: Array<{
      payload: string;
      plan_id: string;
      amount: number;
      expires_at: string;
      canceled: boolean;
      refunded: boolean;
    }>;
    invoices: InvoiceView[];
    /** Payments refunded or disputed, and what the policy did. */
    payments: Array<{
      charge_id: string;
      amount: number;
      amount_refunded: number;
      currency: string;
      refunded: boolean;
      dispute_status: string | null;
      access_ended: string | null;
    }>;
  };
  /** Stripe's side, read now: null without a customer; `error` when Stripe could not be read. */
  stripe: {
    error: string | null;
    customer_deleted: boolean;
    subscriptions: Array<{ id: string; status: string; price_id: string | null; cancel_at_period_end: boolean }>;
  } | null;
  /** Where the mirror and Stripe disagree, in words (empty when they agree). */
  differences: string[];
  events: Array<{
    id: string;
    type: string;
    status: string;
    attempts: number;
    last_error: string | null;
    received_at: string;
    processed_at: string | null;
  }>;
  notices: Array<{ kind: string; status: string; attempts: number; created_at: string; sent_at: string | null; last_error: string | null }>;
}

/** A person by what an operator has at hand: our id, their Telegram id, their email, or their Stripe customer. */
export async function findUserForOperator(db: Executor, query: string): Promise<User | undefined> {
  const q = query.trim();
  if (q.length === 0 || q.length > 254) return undefined;
  let base = db.selectFrom('users').selectAll('users');
  if (isUserId(q)) base = base.where('users.id', '=', q);
  else if (/^\d{1,15}$/.test(q)) base = base.where('users.telegram_id', '=', Number(q));
  else if (/@/.test(q)) base = base.where('users.email', '=', q);
  else if (/^cus_[A-Za-z0-9_]{1,250}$/.test(q))
    base = base.innerJoin('stripe_customers', 'stripe_customers.user_id', 'users.id').where('stripe_customers.stripe_customer_id', '=', q);
  else return undefined;
  const row = await base.orderBy('users.created_at').limit(1).executeTakeFirst();
  return row ? toUser(row) : undefined;
}

const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;

export async function billingState(deps: BillingDeps, user: User, options: { stripe?: boolean } = {}): Promise<BillingState> {
  const db = deps.db;
  const [row, customer, subscriptions, stars, payments, notices, subscription, entitlements, invoices] = await Promise.all([
    db.selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow(),
    db.selectFrom('stripe_customers').select('stripe_customer_id').where('user_id', '=', user.id).executeTakeFirst(),
    db.selectFrom('subscriptions').selectAll().where('user_id', '=', user.id).orderBy('stripe_created', 'desc').limit(20).execute(),
    db.selectFrom('star_subscriptions').selectAll().where('user_id', '=', user.id).orderBy('period_start', 'desc').limit(20).execute(),
    db.selectFrom('payment_charges').selectAll().where('user_id', '=', user.id).orderBy('stripe_created', 'desc').limit(20).execute(),
    db.selectFrom('billing_notifications').selectAll().where('user_id', '=', user.id).orderBy('id', 'desc').limit(20).execute(),
    getSubscription(deps, user),
    entitlementsOf(deps, user),
    listInvoices(deps, user, { limit: 10 }),
  ]);
  const customerId = customer?.stripe_customer_id ?? null;
  const events = customerId
    ? await db
        .selectFrom('stripe_events')
        .selectAll()
        .where('stripe_customer_id', '=', customerId)
        .orderBy('received_at', 'desc')
        .limit(20)
        .execute()
    : [];

  let stripe: BillingState['stripe'] = null;
  const differences: string[] = [];
  if (customerId && options.stripe !== false) {
    try {
      const [remoteCustomer, remoteSubs] = await Promise.all([
        stripeCall(() => deps.stripe.customers.retrieve(customerId)),
        stripeCall(() => deps.stripe.subscriptions.list({ customer: customerId, status: 'all', limit: 20 })),
      ]);
      stripe = {
        error: null,
        customer_deleted: 'deleted' in remoteCustomer && remoteCustomer.deleted === true,
        subscriptions: remoteSubs.data.map((s) => ({
          id: s.id,
          status: s.status,
          price_id: s.items.data[0]?.price.id ?? null,
          cancel_at_period_end: s.cancel_at_period_end,
        })),
      };
      const remote = new Map(stripe.subscriptions.map((s) => [s.id, s]));
      for (const local of subscriptions) {
        const there = remote.get(local.stripe_subscription_id);
        if (!there) differences.push(`${local.stripe_subscription_id}: in the mirror (${local.status}), not among Stripe's newest`);
        else if (there.status !== local.status)
          differences.push(`${local.stripe_subscription_id}: the mirror says ${local.status}, Stripe says ${there.status}`);
        else if (there.cancel_at_period_end !== local.cancel_at_period_end)
          differences.push(
            `${local.stripe_subscription_id}: cancel at period end is ${local.cancel_at_period_end} here, ${there.cancel_at_period_end} at Stripe`,
          );
      }
      const mirrored = new Set(subscriptions.map((s) => s.stripe_subscription_id));
      for (const there of stripe.subscriptions)
        if (!mirrored.has(there.id)) differences.push(`${there.id}: at Stripe (${there.status}), missing from the mirror`);
      if (stripe.customer_deleted) differences.push(`${customerId}: deleted at Stripe, still mapped here`);
    } catch (err) {
      stripe = { error: (err as { code?: string }).code ?? 'STRIPE_UNAVAILABLE', customer_deleted: false, subscriptions: [] };
    }
  }

  return {
    user: {
      id: row.id,
      name: row.name,
      email: row.email,
      telegram_id: row.telegram_id === null ? null : Number(row.telegram_id),
      platform_subject: row.platform_subject,
      created_at: row.created_at.toISOString(),
      bot_blocked: row.telegram_blocked_at !== null,
    },
    stripe_customer_id: customerId,
    now: { subscription, entitlements },
    mirror: {
      subscriptions: subscriptions.map((s) => ({
        id: s.stripe_subscription_id,
        plan_id: s.plan_id,
        status: s.status,
        cancel_at_period_end: s.cancel_at_period_end,
        current_period_end: iso(s.current_period_end),
        updated_at: s.updated_at.toISOString(),
      })),
      star_subscriptions: stars.map((s) => ({
        payload: s.payload,
        plan_id: s.plan_id,
        amount: s.amount,
        expires_at: s.expires_at.toISOString(),
        canceled: s.canceled,
        refunded: s.refunded_at !== null,
      })),
      invoices,
      payments: payments.map((p) => ({
        charge_id: p.stripe_charge_id,
        amount: p.amount,
        amount_refunded: p.amount_refunded,
        currency: p.currency,
        refunded: p.refunded,
        dispute_status: p.dispute_status,
        access_ended: p.access_ended,
      })),
    },
    stripe,
    differences,
    events: events.map((e) => ({
      id: e.event_id,
      type: e.type,
      status: e.status,
      attempts: e.attempts,
      last_error: e.last_error,
      received_at: e.received_at.toISOString(),
      processed_at: iso(e.processed_at),
    })),
    notices: notices.map((n) => ({
      kind: n.kind,
      status: n.status,
      attempts: n.attempts,
      created_at: n.created_at.toISOString(),
      sent_at: iso(n.sent_at),
      last_error: n.last_error,
    })),
  };
}
