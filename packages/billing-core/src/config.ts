import { z } from 'zod';
import type { EntitlementCatalog } from './entitlements/entitlements.ts';
import { BillingError } from './errors.ts';

/** What billing-core needs to know; built once by the composition root from the environment. */
export interface BillingConfig {
  /** plan id → Stripe price id. */
  priceMap: Record<string, string>;
  /** The Mini App's public URL: default success, cancel and return URLs. */
  appUrl: string;
  /** Extra origins allowed in success/cancel/return URLs (besides appUrl's). */
  allowedRedirectOrigins: string[];
  /** How long a `past_due` subscription keeps access after its period started. */
  pastDueGraceSeconds: number;
  /** Every configured `whsec_…` secret (rotation). */
  webhookSecrets: string[];
  /** Accepted age of a webhook signature, in seconds (Stripe's default is 300). */
  webhookToleranceSeconds: number;
  /** Whether our key is a live-mode key: events of the other mode are acknowledged and ignored. */
  livemode: boolean;
  /** plan id → price in Telegram Stars per 30 days; a plan missing here is not sold in Stars. */
  starsPriceMap?: Record<string, number> | undefined;
  /** What each plan (and `free`) lets a person do; the demo's catalog when unset. */
  entitlements?: EntitlementCatalog | undefined;
}

const ZPlanId = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'plan ids are lowercase letters, digits and _');
const ZPriceId = z.string().regex(/^price_[A-Za-z0-9_]+$/, 'price ids start with price_');
export const ZPriceMap = z.record(ZPlanId, ZPriceId).refine((m) => Object.keys(m).length > 0, 'at least one plan is needed');

/**
 * One JSON setting read against its schema: a `CONFIGURATION` error naming the variable and the
 * problem (not JSON, or where the value breaks the schema) when it does not fit.
 */
export function parseJsonSetting<T extends z.ZodType>(name: string, json: string, schema: T): z.infer<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new BillingError('CONFIGURATION', `${name} is not valid JSON`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at "${issue.path.join('.')}"` : '';
    throw new BillingError('CONFIGURATION', `${name} is invalid${where}: ${issue?.message ?? 'unknown problem'}`);
  }
  return parsed.data;
}

/**
 * Parses `STRIPE_PRICE_MAP_JSON`. Throws a `CONFIGURATION` error whose message names the problem
 * (not JSON, a bad plan id, a bad price id, a plan named `free`, a price used twice).
 */
export function parsePriceMap(json: string): Record<string, string> {
  const map = parseJsonSetting('STRIPE_PRICE_MAP_JSON', json, ZPriceMap);
  if ('free' in map) throw new BillingError('CONFIGURATION', 'STRIPE_PRICE_MAP_JSON must not define "free": it is the implicit plan');
  const prices = Object.values(map);
  if (new Set(prices).size !== prices.length)
    throw new BillingError('CONFIGURATION', 'STRIPE_PRICE_MAP_JSON maps two plans to the same price');
  return map;
}

export const DEFAULT_PRICE_MAP: Record<string, string> = {
  premium_monthly: 'price_premium_monthly',
  vip_monthly: 'price_vip_monthly',
  enterprise_monthly: 'price_enterprise_monthly',
};

export const ZStarsPriceMap = z
  .record(ZPlanId, z.number().int().min(1).max(10_000))
  .refine((m) => Object.keys(m).length > 0, 'at least one plan is needed');

/** Parses `STARS_PRICE_MAP_JSON` (plan id → Stars per 30 days, 1 to 10,000). */
export function parseStarsPriceMap(json: string): Record<string, number> {
  return parseJsonSetting('STARS_PRICE_MAP_JSON', json, ZStarsPriceMap);
}

export const DEFAULT_STARS_PRICE_MAP: Record<string, number> = {
  premium_monthly: 1500,
  vip_monthly: 5000,
  enterprise_monthly: 10_000,
};
