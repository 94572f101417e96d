import type { Trx } from '../db/executor.ts';
import type { BillingNotificationTable } from '../db/schema.ts';

export type NoticeKind = BillingNotificationTable['kind'];

/**
 * Records a transition a person should hear about, once per `dedupeKey` whatever the number or order
 * of deliveries that bring it (the outbox; a sender reads it). Runs in the caller's transaction, so a
 * notice exists exactly when the state change that caused it was committed.
 */
export async function notifyOnce(trx: Trx, userId: string, kind: NoticeKind, subscriptionId: string, dedupeKey: string): Promise<void> {
  await trx
    .insertInto('billing_notifications')
    .values({ user_id: userId, kind, stripe_subscription_id: subscriptionId, dedupe_key: dedupeKey })
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .execute();
}
