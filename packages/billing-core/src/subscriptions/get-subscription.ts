import type { SubscriptionRow } from '../db/schema.ts';
import type { BillingDeps } from '../deps.ts';
import { monthlyWholeUnits } from '../plans/plans.ts';
import type { User } from '../users/user.repository.ts';
import { isActivated, LIVE_STATUSES } from './statuses.ts';
import { listUserSubscriptionViews, type SubscriptionViewRow } from './subscription.repository.ts';

export type SubscriptionStatus = 'active' | 'trialing' | 'past_due' | 'incomplete' | 'unpaid' | 'canceled' | 'paused' | 'inactive';

/** What a person's plan looks like right now: the contract of `GET /billing/subscription`. */
export interface SubscriptionView {
  /** Plan id, or `free`. */
  tier: string;
  status: SubscriptionStatus;
  plan_name: string;
  current_period_start: string | null;
  current_period_end: string | null;
  cancel_at_period_end: boolean;
  cancel_at: string | null;
  /** Whole dollars per month, for display; 0 on free. */
  price_usd_monthly: number;
  /** Minor units per interval with currency; 0 on free. */
  amount: number;
  currency: string | null;
  interval: string | null;
  /** Whether paid features are on now, by the access policy. */
  has_access: boolean;
  /** Until when access lasts without another payment (period end, or the end of the past-due grace). */
  access_until: string | null;
  subscription_id: string | null;
  /** How it is paid: Stripe (card) or Telegram Stars; null on free. */
  rail: 'stripe' | 'telegram_stars' | null;
  /** Past due or unpaid: where the open invoice can be paid now (Stripe's hosted invoice page). */
  payment_url: string | null;
}

export const FREE_VIEW: SubscriptionView = {
  tier: 'free',
  status: 'inactive',
  plan_name: 'Free',
  current_period_start: null,
  current_period_end: null,
  cancel_at_period_end: false,
  cancel_at: null,
  price_usd_monthly: 0,
  amount: 0,
  currency: null,
  interval: null,
  has_access: false,
  access_until: null,
  subscription_id: null,
  rail: null,
  payment_url: null,
};

/**
 * The access policy, in one place: active and trialing have access until the period ends (also when
 * set to cancel at period end); past_due keeps access for the grace window after its period began;
 * every other status has none.
 */
export function accessOf(
  row: Pick<SubscriptionRow, 'status' | 'current_period_start' | 'current_period_end'>,
  now: Date,
  graceSeconds: number,
): { hasAccess: boolean; until: Date | null } {
  const end = row.current_period_end;
  if (isActivated(row.status)) {
    return { hasAccess: end === null || end.getTime() > now.getTime(), until: end };
  }
  if (row.status === 'past_due' && row.current_period_start) {
    const until = new Date(row.current_period_start.getTime() + graceSeconds * 1000);
    return { hasAccess: until.getTime() > now.getTime(), until };
  }
  return { hasAccess: false, until: null };
}

/**
 * Picks the subscription that describes the person now: a live one first, then the newest. A first
 * payment that has not gone through (`incomplete`, `incomplete_expired`) is never the current plan:
 * the person stays on what they had, and may try again.
 */
export function currentSubscription<Row extends Pick<SubscriptionRow, 'status' | 'stripe_created'>>(all: Row[]): Row | undefined {
  const rows = all.filter((r) => r.status !== 'incomplete' && r.status !== 'incomplete_expired');
  const rank = (s: string) => {
    const i = (LIVE_STATUSES as readonly string[]).indexOf(s);
    return i < 0 ? LIVE_STATUSES.length : i;
  };
  return [...rows].sort((a, b) => rank(a.status) - rank(b.status) || Number(b.stripe_created) - Number(a.stripe_created))[0];
}

export function viewOf(row: SubscriptionViewRow | undefined, deps: Pick<BillingDeps, 'clock' | 'config' | 'plans'>): SubscriptionView {
  if (!row) return FREE_VIEW;
  if (row.status === 'canceled' || row.status === 'incomplete_expired') {
    return { ...FREE_VIEW, status: row.status === 'canceled' ? 'canceled' : 'inactive' };
  }
  const access = accessOf(row, deps.clock.now(), deps.config.pastDueGraceSeconds);
  const plan = row.plan_id ? deps.plans.cached()?.find((p) => p.plan_id === row.plan_id) : undefined;
  const stars = row.rail === 'telegram_stars';
  return {
    tier: row.plan_id ?? row.price_id,
    status: row.status as SubscriptionStatus,
    plan_name: plan?.name ?? row.plan_id ?? 'Custom plan',
    current_period_start: row.current_period_start?.toISOString() ?? null,
    current_period_end: row.current_period_end?.toISOString() ?? null,
    cancel_at_period_end: row.cancel_at_period_end,
    cancel_at: row.cancel_at?.toISOString() ?? null,
    // A Stars subscription shows its plan's card price for comparison; `amount` is in Stars.
    price_usd_monthly: stars ? (plan?.price_usd_monthly ?? 0) : monthlyWholeUnits(row.amount, row.interval),
    amount: row.amount,
    currency: row.currency,
    interval: row.interval,
    has_access: access.hasAccess,
    access_until: access.until?.toISOString() ?? null,
    subscription_id: row.stripe_subscription_id,
    rail: row.rail,
    payment_url: null,
  };
}

/** The person's plan from the local mirror: no Stripe call. */
export async function getSubscription(
  deps: Pick<BillingDeps, 'db' | 'clock' | 'config' | 'plans'>,
  user: Pick<User, 'id'>,
): Promise<SubscriptionView> {
  const now = deps.clock.now().getTime();
  // A Stars subscription whose paid period is over has lapsed: Telegram sends no word of it.
  const rows = (await listUserSubscriptionViews(deps.db, user.id)).map((r) =>
    r.rail === 'telegram_stars' && r.status === 'active' && (r.current_period_end?.getTime() ?? 0) <= now
      ? { ...r, status: 'canceled' }
      : r,
  );
  const view = viewOf(currentSubscription(rows), deps);
  if ((view.status === 'past_due' || view.status === 'unpaid') && view.rail === 'stripe' && view.subscription_id) {
    // Rare: one more read, only when there is something to pay.
    const open = await deps.db
      .selectFrom('invoices')
      .select('hosted_invoice_url')
      .where('stripe_subscription_id', '=', view.subscription_id)
      .where('stripe_status', '=', 'open')
      .orderBy('stripe_created', 'desc')
      .limit(1)
      .executeTakeFirst();
    view.payment_url = open?.hosted_invoice_url ?? null;
  }
  return view;
}
