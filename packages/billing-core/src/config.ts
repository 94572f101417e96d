import type { z } from 'zod';
import { BillingError } from './errors.ts';
import type { Catalog } from './plans/catalog.ts';

/** What billing-core needs to know; built once by the composition root from the environment. */
export interface BillingConfig {
  /** The plans on sale (Stripe and Stars prices, trials, features and limits) and `free`. */
  catalog: Catalog;
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
  /** Whether the Telegram Stars rail is on (a bot to sell with): the catalog's Stars prices apply only then. */
  starsRail?: boolean | undefined;
  /** Stripe Tax on every Checkout (`STRIPE_AUTOMATIC_TAX=1`). */
  automaticTax?: boolean | undefined;
}

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
