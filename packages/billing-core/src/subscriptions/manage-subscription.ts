import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { findCustomerIdByUser } from '../customers/customer.repository.ts';
import type { BillingDeps } from '../deps.ts';
import { BillingError } from '../errors.ts';
import { monthlyWholeUnits } from '../plans/plans.ts';
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

/** The live subscription a plan change acts on, and the plan it moves to. */
async function planChange(deps: BillingDeps, user: User, planId: string) {
  const plan = await deps.plans.get(planId);
  const current = await liveSubscription(deps, user);
  if (current.price_id === plan.price_id) throw new BillingError('SAME_PLAN', 'You are already on this plan');
  if (!current.stripe_item_id) throw new BillingError('NO_SUBSCRIPTION', 'You have no active subscription');
  return { plan, current, item: current.stripe_item_id };
}

/**
 * Moves the live subscription to another plan, prorated and billed at once. With the
 * `prorationDate` a preview was priced at, the charge is exactly the amount the preview showed.
 */
export async function changePlan(
  deps: BillingDeps,
  input: { user: User; planId: string; prorationDate?: number | undefined },
): Promise<SubscriptionView> {
  const { plan, current, item } = await planChange(deps, input.user, input.planId);
  return update(
    deps,
    input.user,
    current.stripe_subscription_id,
    {
      items: [{ id: item, price: plan.price_id }],
      proration_behavior: 'always_invoice',
      cancel_at_period_end: false,
      ...(input.prorationDate === undefined ? {} : { proration_date: input.prorationDate }),
    },
    true,
  );
}

/** What a plan change costs, as Stripe prices it: now, and at each renewal after it. */
export interface PlanChangePreview {
  plan_id: string;
  direction: 'upgrade' | 'downgrade';
  currency: string;
  /** Charged at once when the change is confirmed (minor units). */
  amount_due_now: number;
  /** Unused time on the current plan beyond what is due now, kept as credit for the next invoices. */
  credit: number;
  /** The renewal at the new price (after discounts), before credit. */
  next_amount: number;
  /** What the first renewal after the change will charge, credit applied. */
  next_amount_due: number;
  /** When that renewal is (ISO 8601). */
  next_date: string | null;
  /** The moment Stripe priced the change at: send it with the change to be charged exactly this. */
  proration_date: number;
}

/**
 * Prices a plan change with Stripe's invoice preview, changing nothing: the proration invoice the
 * change would bill now, and the first renewal at the new price. Two Stripe reads, in parallel, with
 * no database connection held.
 */
export async function previewPlanChange(deps: BillingDeps, input: { user: User; planId: string }): Promise<PlanChangePreview> {
  const { plan, current, item } = await planChange(deps, input.user, input.planId);
  const customer = current.stripe_customer_id;
  const items = [{ id: item, price: plan.price_id }];
  const [now, renewal] = await Promise.all([
    stripeCall(() =>
      deps.stripe.invoices.createPreview({
        customer,
        subscription: current.stripe_subscription_id,
        subscription_details: { items, proration_behavior: 'always_invoice' },
      }),
    ),
    stripeCall(() =>
      deps.stripe.invoices.createPreview({
        customer,
        subscription: current.stripe_subscription_id,
        subscription_details: { items, proration_behavior: 'none' },
      }),
    ),
  ]);
  // Stripe applies the customer's balance to what is due now; a credit left over carries on.
  const balanceAfter = now.total + now.starting_balance;
  const credit = Math.max(0, -balanceAfter);
  const prorationDate = now.lines.data[0]?.period.start ?? now.created;
  return {
    plan_id: plan.plan_id,
    // Up or down by what each costs a month, as the plans are compared on screen.
    direction:
      monthlyWholeUnits(plan.amount, plan.interval) >= monthlyWholeUnits(current.amount, current.interval) ? 'upgrade' : 'downgrade',
    currency: now.currency,
    amount_due_now: now.amount_due,
    credit,
    next_amount: renewal.total,
    next_amount_due: Math.max(0, renewal.total - credit),
    // The renewal is charged when the current period ends.
    next_date: current.current_period_end?.toISOString() ?? null,
    proration_date: prorationDate,
  };
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
