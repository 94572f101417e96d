import type Stripe from 'stripe';
import { resolveCustomerOwner } from '../customers/resolve-owner.ts';
import type { BillingDeps } from '../deps.ts';
import { stripeCall } from '../stripe/stripe-errors.ts';
import { cancelDuplicateSubscriptions } from '../subscriptions/one-live-subscription.ts';
import { applyInvoice, applySubscription, emptyCounts, type SyncCounts } from './apply.ts';

export { emptyCounts, type SyncCounts } from './apply.ts';

type SyncDeps = Pick<BillingDeps, 'db' | 'stripe' | 'plans'>;

/**
 * Full re-read of one customer: every subscription (all statuses) and every invoice, paged. Reads
 * Stripe first with no transaction open, then writes in one short transaction; each row keeps the
 * newest read (`state_read_at`), so this is safe to run any number of times, concurrently with
 * workers draining webhooks. Idempotent and convergent.
 */
export async function syncCustomer(
  deps: SyncDeps,
  customerId: string,
  options: { pageDelayMs?: number } = {},
): Promise<SyncCounts & { userId: string | undefined }> {
  const counts = emptyCounts();
  const userId = await resolveCustomerOwner(deps, customerId);
  if (!userId) return { ...counts, userId };
  const subs = await stripeCall(async () => {
    const all: Stripe.Subscription[] = [];
    for await (const sub of deps.stripe.subscriptions.list({ customer: customerId, status: 'all', limit: 100 })) all.push(sub);
    return all;
  });
  const subsReadAt = Date.now();
  const invoices: Array<{ inv: Stripe.Invoice; readAt: number }> = [];
  let startingAfter: string | undefined;
  for (;;) {
    const page = await stripeCall(() =>
      deps.stripe.invoices.list({ customer: customerId, limit: 100, ...(startingAfter ? { starting_after: startingAfter } : {}) }),
    );
    const readAt = Date.now();
    for (const inv of page.data) invoices.push({ inv, readAt });
    if (!page.has_more || page.data.length === 0) break;
    startingAfter = page.data.at(-1)?.id;
    if (options.pageDelayMs) await new Promise((r) => setTimeout(r, options.pageDelayMs));
  }
  await deps.db.transaction().execute(async (trx) => {
    for (const sub of subs) counts.subscriptions[await applySubscription(trx, deps, sub, userId, subsReadAt)] += 1;
    for (const { inv, readAt } of invoices) counts.invoices[await applyInvoice(trx, inv, userId, readAt)] += 1;
  });
  counts.duplicatesCanceled = await cancelDuplicateSubscriptions(deps, userId, subs);
  return { ...counts, userId };
}

/** The newest invoices of one subscription, read from Stripe, then applied in a short transaction. */
export async function syncSubscriptionInvoices(deps: SyncDeps, subscriptionId: string, userId: string, limit = 10): Promise<void> {
  const page = await stripeCall(() => deps.stripe.invoices.list({ subscription: subscriptionId, limit }));
  const readAt = Date.now();
  await deps.db.transaction().execute(async (trx) => {
    for (const inv of page.data) await applyInvoice(trx, inv, userId, readAt);
  });
}
