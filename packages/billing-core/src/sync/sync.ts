import { sql, type Transaction } from 'kysely';
import type Stripe from 'stripe';
import { findUserIdByCustomer, insertCustomerMapping } from '../customers/customer.repository.ts';
import type { Database } from '../db/schema.ts';
import type { BillingDeps } from '../deps.ts';
import { findInvoice, invoiceRowFrom, upsertInvoice } from '../invoices/invoice.repository.ts';
import { stripeCall } from '../stripe/stripe-errors.ts';
import { subscriptionRowFrom } from '../subscriptions/subscription.mapper.ts';
import { type ApplyOutcome, findSubscription, upsertSubscription } from '../subscriptions/subscription.repository.ts';
import { findUserById } from '../users/user.repository.ts';

export type Trx = Transaction<Database>;
type SyncDeps = Pick<BillingDeps, 'db' | 'stripe' | 'plans' | 'clock'>;

export interface SyncCounts {
  subscriptions: Record<ApplyOutcome, number>;
  invoices: Record<ApplyOutcome, number>;
  duplicatesCanceled: number;
}

export const emptyCounts = (): SyncCounts => ({
  subscriptions: { inserted: 0, updated: 0, unchanged: 0, stale: 0 },
  invoices: { inserted: 0, updated: 0, unchanged: 0, stale: 0 },
  duplicatesCanceled: 0,
});

/**
 * Serialises all syncing of one Stripe customer: a transaction-scoped advisory lock. Reads from
 * Stripe happen inside the lock, so a later read is always written after an earlier one.
 */
export async function lockCustomer(trx: Trx, customerId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`stripe-customer:${customerId}`}, 0))`.execute(trx);
}

export function withCustomerLock<T>(deps: Pick<BillingDeps, 'db'>, customerId: string, fn: (trx: Trx) => Promise<T>): Promise<T> {
  return deps.db.transaction().execute(async (trx) => {
    await lockCustomer(trx, customerId);
    return fn(trx);
  });
}

/**
 * Our user for a Stripe customer: the stored mapping, else the `metadata.user_id` we put on every
 * customer and subscription (only when that user exists and has no other customer). Never by email.
 */
export async function resolveUser(
  trx: Trx,
  deps: SyncDeps,
  customerId: string,
  hintUserId?: string | undefined,
): Promise<string | undefined> {
  const mapped = await findUserIdByCustomer(trx, customerId);
  if (mapped) return mapped;
  let candidate = hintUserId;
  if (!candidate) {
    const customer = await stripeCall(() => deps.stripe.customers.retrieve(customerId));
    if ('deleted' in customer && customer.deleted) return undefined;
    candidate = (customer as Stripe.Customer).metadata?.user_id;
  }
  if (!candidate || !/^[0-9a-f-]{36}$/i.test(candidate)) return undefined;
  if (!(await findUserById(trx, candidate))) return undefined;
  return (await insertCustomerMapping(trx, candidate, customerId)) ? candidate : undefined;
}

export const notifyOnce = async (
  trx: Trx,
  userId: string,
  kind: 'plan_activated' | 'plan_canceled' | 'payment_failed',
  subscriptionId: string,
  dedupeKey: string,
) => {
  await trx
    .insertInto('billing_notifications')
    .values({ user_id: userId, kind, stripe_subscription_id: subscriptionId, dedupe_key: dedupeKey })
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .execute();
};

/** Applies one subscription state read from Stripe, and records the transitions a person hears about. */
export async function applySubscription(
  trx: Trx,
  deps: SyncDeps,
  sub: Stripe.Subscription,
  userId: string,
  readAt: number,
): Promise<ApplyOutcome> {
  const previous = await findSubscription(trx, sub.id);
  const row = subscriptionRowFrom(sub, userId, (p) => deps.plans.planForPrice(p), readAt);
  const outcome = await upsertSubscription(trx, row, previous);
  if (outcome === 'stale') return outcome;
  if ((row.status === 'active' || row.status === 'trialing') && previous?.status !== row.status) {
    // Once per subscription, whatever order or number of deliveries brought us here.
    await notifyOnce(trx, userId, 'plan_activated', sub.id, `plan_activated:${sub.id}`);
  }
  if (row.status === 'canceled' && previous?.status !== 'canceled') {
    await notifyOnce(trx, userId, 'plan_canceled', sub.id, `plan_canceled:${sub.id}`);
  }
  return outcome;
}

export async function applyInvoice(trx: Trx, inv: Stripe.Invoice, userId: string, readAt: number): Promise<ApplyOutcome> {
  if (!inv.id) return 'unchanged';
  const previous = await findInvoice(trx, inv.id);
  const row = invoiceRowFrom(inv, userId, readAt);
  const outcome = await upsertInvoice(trx, row, previous);
  if (outcome !== 'stale' && inv.status === 'open' && inv.attempt_count > 0 && row.stripe_subscription_id) {
    await notifyOnce(trx, userId, 'payment_failed', row.stripe_subscription_id, `payment_failed:${inv.id}:${inv.attempt_count}`);
  }
  return outcome;
}

const now = () => Date.now();

/** Re-reads one subscription from Stripe and applies it (the payload of an event is only a trigger). */
export async function syncSubscription(
  trx: Trx,
  deps: SyncDeps,
  subscriptionId: string,
  userId: string,
  counts = emptyCounts(),
): Promise<Stripe.Subscription> {
  const sub = await stripeCall(() => deps.stripe.subscriptions.retrieve(subscriptionId));
  counts.subscriptions[await applySubscription(trx, deps, sub, userId, now())] += 1;
  return sub;
}

export async function syncInvoice(
  trx: Trx,
  deps: SyncDeps,
  invoiceId: string,
  userId: string,
  counts = emptyCounts(),
): Promise<Stripe.Invoice> {
  const inv = await stripeCall(() => deps.stripe.invoices.retrieve(invoiceId));
  counts.invoices[await applyInvoice(trx, inv, userId, now())] += 1;
  return inv;
}

export async function syncSubscriptionInvoices(
  trx: Trx,
  deps: SyncDeps,
  subscriptionId: string,
  userId: string,
  counts = emptyCounts(),
  limit = 10,
): Promise<void> {
  const page = await stripeCall(() => deps.stripe.invoices.list({ subscription: subscriptionId, limit }));
  const readAt = now();
  for (const inv of page.data) counts.invoices[await applyInvoice(trx, inv, userId, readAt)] += 1;
}

/**
 * Stripe allows a customer more than one subscription; our product allows one live plan per person.
 * If two ever go live (two tabs paid two sessions), the newest extras are canceled at once with
 * proration, under a deterministic idempotency key.
 */
export async function cancelDuplicateSubscriptions(trx: Trx, deps: SyncDeps, userId: string, subs: Stripe.Subscription[]): Promise<number> {
  // The oldest stays; within one second, the one our own checkout created (it carries our metadata).
  const ours = (s: Stripe.Subscription) => (s.metadata?.user_id === userId ? 0 : 1);
  const live = subs
    .filter((s) => s.status === 'active' || s.status === 'trialing' || s.status === 'past_due')
    .sort((a, b) => a.created - b.created || ours(a) - ours(b) || a.id.localeCompare(b.id));
  let canceled = 0;
  for (const extra of live.slice(1)) {
    const result = await stripeCall(() =>
      deps.stripe.subscriptions.cancel(
        extra.id,
        { prorate: true, cancellation_details: { comment: 'duplicate subscription' } },
        { idempotencyKey: `cancel-duplicate:${extra.id}` },
      ),
    );
    await applySubscription(trx, deps, result, userId, now());
    canceled += 1;
  }
  return canceled;
}

/**
 * Full re-read of one customer: every subscription (all statuses) and every invoice, paged.
 * Idempotent and convergent: safe to run any number of times, concurrently with webhooks.
 */
export async function syncCustomer(
  deps: SyncDeps,
  customerId: string,
  options: { pageDelayMs?: number } = {},
): Promise<SyncCounts & { userId: string | undefined }> {
  return withCustomerLock(deps, customerId, async (trx) => {
    const counts = emptyCounts();
    const userId = await resolveUser(trx, deps, customerId);
    if (!userId) return { ...counts, userId };
    const subs = await stripeCall(async () => {
      const all: Stripe.Subscription[] = [];
      for await (const sub of deps.stripe.subscriptions.list({ customer: customerId, status: 'all', limit: 100 })) all.push(sub);
      return all;
    });
    const readAt = now();
    for (const sub of subs) counts.subscriptions[await applySubscription(trx, deps, sub, userId, readAt)] += 1;
    counts.duplicatesCanceled = await cancelDuplicateSubscriptions(trx, deps, userId, subs);
    let startingAfter: string | undefined;
    for (;;) {
      const page = await stripeCall(() =>
        deps.stripe.invoices.list({ customer: customerId, limit: 100, ...(startingAfter ? { starting_after: startingAfter } : {}) }),
      );
      const pageReadAt = now();
      for (const inv of page.data) counts.invoices[await applyInvoice(trx, inv, userId, pageReadAt)] += 1;
      if (!page.has_more || page.data.length === 0) break;
      startingAfter = page.data.at(-1)?.id;
      if (options.pageDelayMs) await new Promise((r) => setTimeout(r, options.pageDelayMs));
    }
    return { ...counts, userId };
  });
}
