import { sql } from 'kysely';
import type { Executor } from '../db/executor.ts';
import { type ApplyOutcome, upsertMirrorRow } from '../db/mirror.ts';
import { PREPARED } from '../db/prepared.ts';
import type { NewSubscription, SubscriptionRow } from '../db/schema.ts';

export async function listUserSubscriptions(db: Executor, userId: string): Promise<SubscriptionRow[]> {
  return db.selectFrom('subscriptions').selectAll().where('user_id', '=', userId).orderBy('stripe_created', 'desc').execute();
}

/** The columns a person's plan is shown from (the read on every page load: nothing more is parsed). */
export const VIEW_COLUMNS = [
  'stripe_subscription_id',
  'plan_id',
  'price_id',
  'amount',
  'currency',
  'interval',
  'status',
  'current_period_start',
  'current_period_end',
  'cancel_at_period_end',
  'cancel_at',
  'stripe_created',
] as const;
export type Rail = 'stripe' | 'telegram_stars';
/** A subscription on either rail, in the Stripe mirror's shape (a Stars one: its first charge id, XTR, 30 days). */
export type SubscriptionViewRow = Pick<SubscriptionRow, (typeof VIEW_COLUMNS)[number]> & { rail: Rail };

/**
 * A person's subscriptions on both rails in one round trip: the Stripe mirror, and the Stars
 * subscriptions in the same shape (refunded ones as canceled; a lapse is read from the clock).
 */
export async function listUserSubscriptionViews(db: Executor, userId: string): Promise<SubscriptionViewRow[]> {
  const { rows } = await sql<SubscriptionViewRow>`
    select ${PREPARED} 'stripe' as rail, stripe_subscription_id, plan_id, price_id, amount, currency, interval, status,
           current_period_start, current_period_end, cancel_at_period_end, cancel_at, stripe_created
      from subscriptions where user_id = ${userId}
    union all
    select 'telegram_stars', first_charge_id, plan_id, '', amount, 'XTR', 'month',
           case when refunded_at is null then 'active' else 'canceled' end,
           period_start, expires_at, canceled, case when canceled then expires_at end,
           extract(epoch from created_at)::bigint
      from star_subscriptions where user_id = ${userId}`.execute(db);
  return rows;
}

export async function findSubscription(db: Executor, id: string): Promise<SubscriptionRow | undefined> {
  return db.selectFrom('subscriptions').selectAll().where('stripe_subscription_id', '=', id).executeTakeFirst();
}

const COMPARED = [
  'status',
  'plan_id',
  'price_id',
  'amount',
  'current_period_start',
  'current_period_end',
  'cancel_at_period_end',
  'cancel_at',
  'ended_at',
] as const;

/**
 * Upserts the state read from Stripe. A state read earlier than the stored one is never applied
 * (`state_read_at`), so a slow, older read cannot overwrite a newer one.
 */
export function upsertSubscription(trx: Executor, row: NewSubscription, previous?: SubscriptionRow): Promise<ApplyOutcome> {
  return upsertMirrorRow(trx, 'subscriptions', row, previous, COMPARED);
}

/** How many of a person's subscriptions are in one of `statuses` (at most `limit` are counted). */
export async function countUserSubscriptionsIn(db: Executor, userId: string, statuses: readonly string[], limit = 2): Promise<number> {
  const rows = await db
    .selectFrom('subscriptions')
    .select('stripe_subscription_id')
    .where('user_id', '=', userId)
    .where('status', 'in', [...statuses])
    .limit(limit)
    .execute();
  return rows.length;
}
