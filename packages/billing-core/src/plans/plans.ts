import type Stripe from 'stripe';
import { BillingError } from '../errors.ts';
import { stripeCall } from '../stripe/stripe-errors.ts';

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
  features: string[];
}

/** Names and features we show for known plans; others take the Stripe product's. */
const PLAN_DETAILS: Record<string, { name: string; features: string[] }> = {
  premium_monthly: { name: 'Premium', features: ['Unlimited projects', 'Priority support', 'Export to PDF'] },
  vip_monthly: { name: 'VIP', features: ['Everything in Premium', 'Dedicated manager', 'Early access to new features'] },
  enterprise_monthly: { name: 'Enterprise', features: ['Everything in VIP', 'SLA and invoicing', 'Single sign-on'] },
};

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
 * The plan catalog: plan ids and prices from configuration, amounts read from Stripe and cached.
 * Concurrent loads share one request; a failed refresh keeps serving the last good catalog.
 */
export class PlanCatalog {
  private cache: { plans: Plan[]; at: number } | null = null;
  private loading: Promise<Plan[]> | null = null;
  private readonly planByPrice: Map<string, string>;

  constructor(
    private readonly stripe: Stripe,
    private readonly priceMap: Record<string, string>,
    private readonly ttlMs = 10 * 60_000,
  ) {
    this.planByPrice = new Map(Object.entries(priceMap).map(([plan, price]) => [price, plan]));
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
            const details = PLAN_DETAILS[planId];
            const interval = price.recurring?.interval ?? 'month';
            const amount = price.unit_amount ?? 0;
            return {
              plan_id: planId,
              price_id: priceId,
              name: details?.name ?? product?.name ?? planId,
              amount,
              currency: price.currency,
              interval,
              price_usd_monthly: monthlyWholeUnits(amount, interval, price.recurring?.interval_count ?? 1),
              features: details?.features ?? product?.marketing_features?.map((f) => f.name ?? '').filter(Boolean) ?? [],
            } satisfies Plan;
          }),
        );
        plans.sort((a, b) => a.amount - b.amount);
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
