import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { findCustomerIdByUser } from '../customers/customer.repository.ts';
import type { BillingDeps } from '../deps.ts';
import { BillingError } from '../errors.ts';
import { setStarsRenewal } from '../stars/stars.ts';
import { stripeCall } from '../stripe/stripe-errors.ts';
import { applySubscription } from '../sync/apply.ts';
import { syncCustomer, syncSubscriptionInvoices } from '../sync/sync.ts';
import type { User } from '../users/user.repository.ts';
import { currentSubscription, getSubscription, type SubscriptionView } from './get-subscription.ts';
import { isManageable } from './statuses.ts';
import { listUserSubscriptions } from './subscription.repository.ts';

/**
 * The live subscription to act on. When the mirror has none but the person has a Stripe customer,
 * the mirror may only be behind (a webhook still on its way): it is synced once before refusing.
 */
async function liveSubscription(deps: BillingDeps, user: User) {
  const manageable = (rows: Awaited<ReturnType<typeof listUserSubscriptions>>) => {
    const current = currentSubscription(rows);
    return current && isManageable(current.status) ? current : undefined;
  };
  let current = manageable(await listUserSubscriptions(deps.db, user.id));
  if (!current) {
    const customerId = await findCustomerIdByUser(deps.db, user.id);
    if (customerId) {
      await syncCustomer(deps, customerId);
      current = manageable(await listUserSubscriptions(deps.db, user.id));
    }
  }
  if (!current) throw new BillingError('NO_SUBSCRIPTION', 'You have no active subscription');
  return current;
}

async function update(
  deps: BillingDeps,
  user: User,
  subscriptionId: string,
  params: Stripe.SubscriptionUpdateParams,
  syncInvoices: boolean,
): Promise<SubscriptionView> {
  // Stripe first, then a short transaction; the newest read wins (`state_read_at`), and the webhook
  // that follows re-reads and converges whatever order concurrent changes answered in.
  const sub = await stripeCall(() =>
    deps.stripe.subscriptions.update(subscriptionId, params, { idempotencyKey: `subscription-update:${subscriptionId}:${randomUUID()}` }),
  );
  const readAt = Date.now();
  await deps.db.transaction().execute((trx) => applySubscription(trx, deps, sub, user.id, readAt));
  if (syncInvoices) await syncSubscriptionInvoices(deps, sub.id, user.id, 3);
  return getSubscription(deps, user);
}

/** Moves the live subscription to another plan, prorated and billed at once. */
export async function changePlan(deps: BillingDeps, input: { user: User; planId: string }): Promise<SubscriptionView> {
  const plan = await deps.plans.get(input.planId);
  const current = await liveSubscription(deps, input.user);
  if (current.price_id === plan.price_id) throw new BillingError('SAME_PLAN', 'You are already on this plan');
  if (!current.stripe_item_id) throw new BillingError('NO_SUBSCRIPTION', 'You have no active subscription');
  return update(
    deps,
    input.user,
    current.stripe_subscription_id,
    { items: [{ id: current.stripe_item_id, price: plan.price_id }], proration_behavior: 'always_invoice', cancel_at_period_end: false },
    true,
  );
}

/** Keeps access until the period ends, then stops renewing. */
export async function cancelAtPeriodEnd(deps: BillingDeps, input: { user: User }): Promise<SubscriptionView> {
  // A Stars subscription: Telegram stops renewing it (editUserStarSubscription); access lasts the period.
  if (await setStarsRenewal(deps, input.user, true)) return getSubscription(deps, input.user);
  const current = await liveSubscription(deps, input.user);
  if (current.cancel_at_period_end) return getSubscription(deps, input.user);
  return update(deps, input.user, current.stripe_subscription_id, { cancel_at_period_end: true }, false);
}

/** Undoes a pending cancellation. */
export async function resume(deps: BillingDeps, input: { user: User }): Promise<SubscriptionView> {
  if (await setStarsRenewal(deps, input.user, false)) return getSubscription(deps, input.user);
  const current = await liveSubscription(deps, input.user);
  if (!current.cancel_at_period_end) return getSubscription(deps, input.user);
  return update(deps, input.user, current.stripe_subscription_id, { cancel_at_period_end: false }, false);
}
