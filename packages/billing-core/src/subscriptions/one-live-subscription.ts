import type Stripe from 'stripe';
import type { BillingDeps } from '../deps.ts';
import { stripeCall } from '../stripe/stripe-errors.ts';
import { applySubscription } from '../sync/apply.ts';
import { isManageable, MANAGEABLE_STATUSES } from './statuses.ts';
import { countUserSubscriptionsIn } from './subscription.repository.ts';

/**
 * Stripe allows a customer more than one subscription; our product allows one live plan per person.
 * Picks the extras among `subs` (the oldest stays; within one second, the one our own checkout
 * created, which carries our metadata) and cancels them at once with proration, each under a
 * deterministic idempotency key, so any number of workers doing this at once cancel each extra once.
 * Stripe is called with no transaction open; the results are applied afterwards in a short one.
 */
export async function cancelDuplicateSubscriptions(
  deps: Pick<BillingDeps, 'db' | 'stripe' | 'plans'>,
  userId: string,
  subs: Stripe.Subscription[],
): Promise<number> {
  const ours = (s: Stripe.Subscription) => (s.metadata?.user_id === userId ? 0 : 1);
  const live = subs
    .filter((s) => isManageable(s.status))
    .sort((a, b) => a.created - b.created || ours(a) - ours(b) || a.id.localeCompare(b.id));
  const canceled: Array<{ sub: Stripe.Subscription; readAt: number }> = [];
  for (const extra of live.slice(1)) {
    const sub = await stripeCall(() =>
      deps.stripe.subscriptions.cancel(
        extra.id,
        { prorate: true, cancellation_details: { comment: 'duplicate subscription' } },
        { idempotencyKey: `cancel-duplicate:${extra.id}` },
      ),
    );
    canceled.push({ sub, readAt: Date.now() });
  }
  if (canceled.length > 0) {
    await deps.db.transaction().execute(async (trx) => {
      for (const { sub, readAt } of canceled) await applySubscription(trx, deps, sub, userId, readAt);
    });
  }
  return canceled.length;
}

/**
 * After a subscription went live: if the mirror shows the person with two manageable ones, ask Stripe
 * for the customer's subscriptions and cancel the extras. Cheap when there is nothing to do (one query).
 */
export async function enforceOneLiveSubscription(
  deps: Pick<BillingDeps, 'db' | 'stripe' | 'plans'>,
  userId: string,
  customerId: string,
): Promise<number> {
  if ((await countUserSubscriptionsIn(deps.db, userId, MANAGEABLE_STATUSES)) < 2) return 0;
  const subs = await stripeCall(() => deps.stripe.subscriptions.list({ customer: customerId, status: 'all', limit: 100 }));
  return cancelDuplicateSubscriptions(deps, userId, subs.data);
}
