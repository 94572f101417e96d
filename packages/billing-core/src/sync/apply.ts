import type Stripe from 'stripe';
import type { Trx } from '../db/executor.ts';
import type { ApplyOutcome } from '../db/mirror.ts';
import { invoiceRowFrom } from '../invoices/invoice.mapper.ts';
import { findInvoice, upsertInvoice } from '../invoices/invoice.repository.ts';
import { notifyOnce } from '../notices/notice.repository.ts';
import type { PlanCatalog } from '../plans/plans.ts';
import { isActivated } from '../subscriptions/statuses.ts';
import { subscriptionRowFrom } from '../subscriptions/subscription.mapper.ts';
import { findSubscription, upsertSubscription } from '../subscriptions/subscription.repository.ts';

/**
 * Mirror writes: each applies one object already read from Stripe, inside the caller's short
 * transaction, and records the transitions a person hears about. No Stripe call happens here.
 */

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

/** Applies one subscription state read from Stripe at `readAt` (ms); an older read never wins. */
export async function applySubscription(
  trx: Trx,
  deps: { plans: Pick<PlanCatalog, 'planForPrice'> },
  sub: Stripe.Subscription,
  userId: string,
  readAt: number,
): Promise<ApplyOutcome> {
  const previous = await findSubscription(trx, sub.id);
  const row = subscriptionRowFrom(sub, userId, (p) => deps.plans.planForPrice(p), readAt);
  const outcome = await upsertSubscription(trx, row, previous);
  if (outcome === 'stale') return outcome;
  if (isActivated(row.status) && previous?.status !== row.status) {
    // Once per subscription, whatever order or number of deliveries brought us here.
    await notifyOnce(trx, userId, 'plan_activated', sub.id, `plan_activated:${sub.id}`);
  }
  if (row.status === 'canceled' && previous?.status !== 'canceled') {
    await notifyOnce(trx, userId, 'plan_canceled', sub.id, `plan_canceled:${sub.id}`);
  }
  return outcome;
}

/** Applies one invoice read from Stripe at `readAt` (ms); a failed attempt is a notice, once per attempt. */
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

/**
 * A subscription Stripe no longer knows (404) is ended here: it cannot be live for us either.
 * Idempotent; an unknown id changes nothing.
 */
export async function applySubscriptionGone(trx: Trx, subscriptionId: string, readAt: number): Promise<boolean> {
  const previous = await findSubscription(trx, subscriptionId);
  if (!previous || previous.status === 'canceled') return false;
  await trx
    .updateTable('subscriptions')
    .set({ status: 'canceled', ended_at: previous.ended_at ?? new Date(readAt), state_read_at: readAt, updated_at: new Date() })
    .where('stripe_subscription_id', '=', subscriptionId)
    .where('state_read_at', '<=', readAt)
    .execute();
  await notifyOnce(trx, previous.user_id, 'plan_canceled', subscriptionId, `plan_canceled:${subscriptionId}`);
  return true;
}

/** An invoice Stripe no longer knows (a deleted draft) leaves the history. */
export async function applyInvoiceGone(trx: Trx, invoiceId: string): Promise<boolean> {
  const result = await trx.deleteFrom('invoices').where('stripe_invoice_id', '=', invoiceId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
