import type Stripe from 'stripe';
import type { NewSubscription } from '../db/schema.ts';
import { idOf } from '../stripe/ids.ts';

const toDate = (unix: number | null | undefined) => (unix === null || unix === undefined ? null : new Date(unix * 1000));

/**
 * Stripe subscription → row. Current periods come from the subscription items (API versions since
 * 2025-03-31 moved them there).
 */
export function subscriptionRowFrom(
  sub: Stripe.Subscription,
  userId: string,
  planForPrice: (priceId: string) => string | undefined,
  readAt: number,
): NewSubscription {
  const item = sub.items.data[0];
  const price = item?.price;
  const customer = idOf(sub.customer) ?? '';
  return {
    stripe_subscription_id: sub.id,
    user_id: userId,
    stripe_customer_id: customer,
    stripe_item_id: item?.id ?? null,
    plan_id: price ? (planForPrice(price.id) ?? null) : null,
    price_id: price?.id ?? '',
    amount: (price?.unit_amount ?? 0) * (item?.quantity ?? 1),
    currency: price?.currency ?? sub.currency,
    interval: price?.recurring?.interval ?? 'month',
    status: sub.status,
    current_period_start: toDate(item?.current_period_start),
    current_period_end: toDate(item?.current_period_end),
    cancel_at_period_end: sub.cancel_at_period_end,
    cancel_at: toDate(sub.cancel_at),
    canceled_at: toDate(sub.canceled_at),
    ended_at: toDate(sub.ended_at),
    stripe_created: sub.created,
    state_read_at: readAt,
  };
}
