import { z } from 'zod';
import { parseJsonSetting } from '../config.ts';
import type { BillingDeps } from '../deps.ts';
import { BillingError } from '../errors.ts';
import { getSubscription } from '../subscriptions/get-subscription.ts';
import type { User } from '../users/user.repository.ts';

/** What a plan lets a person do: switches (`features`) and amounts (`limits`; null is no limit). */
export interface PlanEntitlements {
  features: Record<string, boolean>;
  limits: Record<string, number | null>;
}

/** plan id (and `free`) → what it lets a person do. */
export type EntitlementCatalog = Record<string, PlanEntitlements>;

const ZKey = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'keys are lowercase letters, digits and _');
const ZPlanEntitlements = z.strictObject({
  features: z.record(ZKey, z.boolean()).default({}),
  limits: z.record(ZKey, z.number().int().min(0).nullable()).default({}),
});
const ZCatalog = z.record(ZKey, ZPlanEntitlements).refine((c) => 'free' in c, 'the catalog needs a "free" plan (what everyone has)');

/**
 * Parses `PLAN_CATALOG_JSON`: each plan's features and limits, `free` included. Every plan lists the
 * same keys as `free` (a key only some plans know would answer "absent" to the others); the message
 * names the problem.
 */
export function parseEntitlementCatalog(json: string, planIds: string[]): EntitlementCatalog {
  const catalog = parseJsonSetting('PLAN_CATALOG_JSON', json, ZCatalog) as EntitlementCatalog;
  const free = catalog.free as PlanEntitlements;
  const keys = (e: PlanEntitlements) =>
    [...Object.keys(e.features).map((k) => `features.${k}`), ...Object.keys(e.limits).map((k) => `limits.${k}`)].sort().join(',');
  for (const [plan, e] of Object.entries(catalog)) {
    if (keys(e) !== keys(free))
      throw new BillingError('CONFIGURATION', `PLAN_CATALOG_JSON: plan "${plan}" must list the same features and limits as "free"`);
  }
  for (const plan of planIds)
    if (!catalog[plan]) throw new BillingError('CONFIGURATION', `PLAN_CATALOG_JSON: plan "${plan}" is sold but has no entitlements`);
  return catalog;
}

/** The demo's catalog: what each seeded plan unlocks. */
export const DEFAULT_ENTITLEMENT_CATALOG: EntitlementCatalog = {
  free: { features: { export_pdf: false, priority_support: false, sso: false }, limits: { projects: 3, seats: 1 } },
  premium_monthly: { features: { export_pdf: true, priority_support: true, sso: false }, limits: { projects: null, seats: 1 } },
  vip_monthly: { features: { export_pdf: true, priority_support: true, sso: false }, limits: { projects: null, seats: 5 } },
  enterprise_monthly: { features: { export_pdf: true, priority_support: true, sso: true }, limits: { projects: null, seats: null } },
};

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
  const catalog = deps.config.entitlements ?? DEFAULT_ENTITLEMENT_CATALOG;
  const view = await getSubscription(deps, user);
  const plan = view.has_access && catalog[view.tier] ? view.tier : 'free';
  const e = catalog[plan] ?? { features: {}, limits: {} };
  return {
    user_id: user.id,
    plan_id: plan,
    has_access: view.has_access,
    status: view.status,
    rail: view.rail,
    access_until: view.access_until,
    features: e.features,
    limits: e.limits,
  };
}
