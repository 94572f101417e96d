import type Stripe from 'stripe';
import { BillingError } from '../errors.ts';
import { stripeCall } from '../stripe/stripe-errors.ts';
import { type Catalog, priceMapOf } from './catalog.ts';

export interface Plan {
  plan_id: string;
  price_id: string;
  name: string;
  /** Minor units (cents). */
  amount: number;
  currency: string;
  interval: string;
  /** Whole dollars per month, for display. */
  price_usd_monthly: number;
  /** What the plan offers, in words (the Stripe product's marketing features). */
  features: string[];
  /** Days of free trial a first subscription starts with; null when none. */
  trial_days: number | null;
  /** The one plan the catalog recommends. */
  highlighted: boolean;
}

export function monthlyWholeUnits(amount: number, interval: string, intervalCount = 1): number {
  const perInterval = amount / 100;
  const months =
    interval === 'year'
      ? 12 * intervalCount
      : interval === 'month'
        ? intervalCount
        : interval === 'week'
          ? (7 * intervalCount) / 30
          : intervalCount / 30;
  return Math.round(perInterval / months);
}

/**
 * The plans on sale: ids, prices and options from the configured catalog, amounts and product
 * names read from Stripe and cached.
 * Concurrent loads share one request; a failed refresh keeps serving the last good catalog.
 */
export class PlanCatalog {
  private cache: { plans: Plan[]; at: number } | null = null;
  private loading: Promise<Plan[]> | null = null;
  private readonly planByPrice: Map<string, string>;
  private readonly priceMap: Record<string, string>;

  constructor(
    private readonly stripe: Stripe,
    private readonly catalog: Catalog,
    private readonly ttlMs = 10 * 60_000,
  ) {
    this.priceMap = priceMapOf(catalog);
    this.planByPrice = new Map(Object.entries(this.priceMap).map(([plan, price]) => [price, plan]));
  }

  /** The plan id for a Stripe price, when the price is one of ours. */
  planForPrice(priceId: string): string | undefined {
    return this.planByPrice.get(priceId);
  }

  priceFor(planId: string): string {
    const price = this.priceMap[planId];
    if (!price) throw new BillingError('UNKNOWN_PLAN', `Unknown plan: ${planId.slice(0, 64)}`);
    return price;
  }

  /** Cached copy, if any, without touching Stripe. */
  cached(): Plan[] | null {
    return this.cache?.plans ?? null;
  }

  async list(): Promise<Plan[]> {
    const fresh = this.cache && Date.now() - this.cache.at < this.ttlMs;
    if (fresh && this.cache) return this.cache.plans;
    try {
      return await this.load();
    } catch (err) {
      if (this.cache) return this.cache.plans;
      throw err;
    }
  }

  async get(planId: string): Promise<Plan> {
    this.priceFor(planId);
    const plan = (await this.list()).find((p) => p.plan_id === planId);
    if (!plan) throw new BillingError('UNKNOWN_PLAN', `Unknown plan: ${planId.slice(0, 64)}`);
    return plan;
  }

  private load(): Promise<Plan[]> {
    if (this.loading) return this.loading;
    const loading = (async () => {
      try {
        const plans = await Promise.all(
          Object.entries(this.priceMap).map(async ([planId, priceId]) => {
            const price = await stripeCall(() => this.stripe.prices.retrieve(priceId, { expand: ['product'] }));
            const product =
              typeof price.product === 'object' && price.product && !('deleted' in price.product && price.product.deleted)
                ? (price.product as Stripe.Product)
                : null;
            const options = this.catalog.plans[planId];
            const interval = price.recurring?.interval ?? 'month';
            const amount = price.unit_amount ?? 0;
            return {
              plan_id: planId,
              price_id: priceId,
              name: options?.name ?? product?.name ?? planId,
              amount,
              currency: price.currency,
              interval,
              price_usd_monthly: monthlyWholeUnits(amount, interval, price.recurring?.interval_count ?? 1),
              features: product?.marketing_features?.map((f) => f.name ?? '').filter(Boolean) ?? [],
              trial_days: options?.trial_days ?? null,
              highlighted: options?.highlighted ?? false,
            } satisfies Plan;
          }),
        );
        // Monthly plans first (cheapest first), then yearly ones: one list the Mini App filters by interval.
        const order = (p: Plan) => (p.interval === 'month' ? 0 : p.interval === 'year' ? 1 : 2);
        plans.sort((a, b) => order(a) - order(b) || a.amount - b.amount);
        this.cache = { plans, at: Date.now() };
        return plans;
      } finally {
        this.loading = null;
      }
    })();
    this.loading = loading;
    return loading;
  }
}
