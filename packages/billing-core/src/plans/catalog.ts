import { z } from 'zod';
import { parseJsonSetting } from '../config.ts';
import { BillingError } from '../errors.ts';

/** What a plan lets a person do: switches (`features`) and amounts (`limits`; null is no limit). */
export interface PlanEntitlements {
  features: Record<string, boolean>;
  limits: Record<string, number | null>;
}

/** One plan on sale: its Stripe price, what it gives, and how it is offered. */
export interface CatalogPlan extends PlanEntitlements {
  /** The Stripe price (monthly and yearly are two plans, e.g. `premium_monthly` and `premium_yearly`). */
  price: string;
  /** Telegram Stars per 30 days; a plan without it is not sold in Stars. */
  stars?: number | undefined;
  /** Days of free trial a first subscription to this plan starts with (Checkout, no charge until it ends). */
  trial_days?: number | undefined;
  /** The one plan the Mini App recommends. */
  highlighted?: boolean | undefined;
  /** The name shown; the Stripe product's name when unset. */
  name?: string | undefined;
}

/**
 * The one catalog: `free` (what everyone has) and every plan on sale, with its Stripe price, its
 * Stars price, its trial, and its features and limits. `PLAN_CATALOG_JSON` in configuration.
 */
export interface Catalog {
  free: PlanEntitlements;
  plans: Record<string, CatalogPlan>;
}

const ZKey = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'ids and keys are lowercase letters, digits and _');
const ZFeatures = z.record(ZKey, z.boolean()).default({});
const ZLimits = z.record(ZKey, z.number().int().min(0).nullable()).default({});
const ZFree = z.strictObject({ features: ZFeatures, limits: ZLimits });
const ZPlan = z.strictObject({
  price: z.string().regex(/^price_[A-Za-z0-9_]{1,250}$/, 'price ids start with price_'),
  stars: z.number().int().min(1).max(10_000).optional(),
  trial_days: z.number().int().min(1).max(730).optional(),
  highlighted: z.boolean().optional(),
  name: z.string().trim().min(1).max(64).optional(),
  features: ZFeatures,
  limits: ZLimits,
});
const ZCatalog = z
  .object({ free: ZFree })
  .catchall(ZPlan)
  .superRefine((c, ctx) => {
    for (const id of Object.keys(c))
      if (!ZKey.safeParse(id).success)
        ctx.addIssue({ code: 'custom', path: [id], message: 'plan ids are lowercase letters, digits and _' });
    if (Object.keys(c).length < 2) ctx.addIssue({ code: 'custom', path: [], message: 'at least one plan besides "free" is needed' });
  })
  .transform(({ free, ...plans }): Catalog => ({ free, plans: plans as Record<string, CatalogPlan> }));

const keysOf = (e: PlanEntitlements) =>
  [...Object.keys(e.features).map((k) => `features.${k}`), ...Object.keys(e.limits).map((k) => `limits.${k}`)].sort().join(',');

/**
 * Parses `PLAN_CATALOG_JSON`. Throws a `CONFIGURATION` error naming the problem: not JSON, a field
 * that breaks the schema (with where), a plan listing other features or limits than `free` (a key
 * only some plans know would answer "absent" to the others), a price sold twice, two highlighted plans.
 */
export function parseCatalog(json: string): Catalog {
  const catalog = parseJsonSetting('PLAN_CATALOG_JSON', json, ZCatalog);
  const fail = (message: string) => new BillingError('CONFIGURATION', `PLAN_CATALOG_JSON: ${message}`);
  const prices = new Set<string>();
  for (const [id, plan] of Object.entries(catalog.plans)) {
    if (keysOf(plan) !== keysOf(catalog.free)) throw fail(`plan "${id}" must list the same features and limits as "free"`);
    if (prices.has(plan.price)) throw fail(`two plans sell the same price ${plan.price}`);
    prices.add(plan.price);
  }
  if (Object.values(catalog.plans).filter((p) => p.highlighted).length > 1) throw fail('at most one plan may be highlighted');
  return catalog;
}

const premium = { features: { export_pdf: true, priority_support: true, sso: false } };
const vip = { features: { export_pdf: true, priority_support: true, sso: false } };

/** The demo's catalog, over the Stripe emulator's seeded prices. */
export const DEFAULT_CATALOG: Catalog = {
  free: { features: { export_pdf: false, priority_support: false, sso: false }, limits: { projects: 3, seats: 1 } },
  plans: {
    premium_monthly: { price: 'price_premium_monthly', stars: 1500, ...premium, limits: { projects: null, seats: 1 } },
    premium_yearly: { price: 'price_premium_yearly', trial_days: 14, ...premium, limits: { projects: null, seats: 1 } },
    vip_monthly: { price: 'price_vip_monthly', stars: 5000, highlighted: true, ...vip, limits: { projects: null, seats: 5 } },
    vip_yearly: { price: 'price_vip_yearly', ...vip, limits: { projects: null, seats: 5 } },
    enterprise_monthly: {
      price: 'price_enterprise_monthly',
      stars: 10_000,
      features: { export_pdf: true, priority_support: true, sso: true },
      limits: { projects: null, seats: null },
    },
  },
};

/** plan id → Stripe price id. */
export const priceMapOf = (catalog: Catalog): Record<string, string> =>
  Object.fromEntries(Object.entries(catalog.plans).map(([id, p]) => [id, p.price]));

/** Whether any plan is sold in Telegram Stars. */
export const sellsInStars = (catalog: Catalog): boolean => Object.values(catalog.plans).some((p) => p.stars !== undefined);

/** What a plan (or `free`, or a plan no longer in the catalog, which gives `free`'s) lets a person do. */
export function entitlementsOfPlan(catalog: Catalog, planId: string): PlanEntitlements & { plan_id: string } {
  const plan = catalog.plans[planId];
  return plan
    ? { plan_id: planId, features: plan.features, limits: plan.limits }
    : { plan_id: 'free', features: catalog.free.features, limits: catalog.free.limits };
}
