import type { BillingDeps } from '../deps.ts';
import { type MoneyBackFlag, moneyBackFlags } from '../money-back/money-back.ts';
import { entitlementsOfPlan, type PlanEntitlements } from '../plans/catalog.ts';
import { getSubscription } from '../subscriptions/get-subscription.ts';
import type { User } from '../users/user.repository.ts';

export interface Entitlements extends PlanEntitlements {
  user_id: string;
  /** The plan whose entitlements apply now: the subscription's while it gives access, else `free`. */
  plan_id: string;
  has_access: boolean;
  /** The subscription's status, and its rail, for a caller that wants to say why. */
  status: string;
  rail: 'stripe' | 'telegram_stars' | null;
  /** Until when paid access lasts without another payment (null on free). */
  access_until: string | null;
  /** What money coming back left on the person: `dispute_open`, `dispute_lost` (see money-back policy). */
  flags: MoneyBackFlag[];
}

/**
 * A person's entitlements now, from the mirror under the one access policy (grace, cancel at
 * period end, trials, both rails): a subscription that gives access brings its plan's features
 * and limits; anything else is `free`'s.
 */
export async function entitlementsOf(
  deps: Pick<BillingDeps, 'db' | 'clock' | 'config' | 'plans'>,
  user: Pick<User, 'id'>,
): Promise<Entitlements> {
  const [view, flags] = await Promise.all([getSubscription(deps, user), moneyBackFlags(deps.db, user.id)]);
  const e = entitlementsOfPlan(deps.config.catalog, view.has_access ? view.tier : 'free');
  return {
    user_id: user.id,
    plan_id: e.plan_id,
    has_access: view.has_access,
    status: view.status,
    rail: view.rail,
    access_until: view.access_until,
    flags,
    features: e.features,
    limits: e.limits,
  };
}
