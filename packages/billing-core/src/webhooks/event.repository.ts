import { sql, type Transaction } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';

type Executor = Db | Transaction<Database>;

/**
 * Claims an event for processing inside the caller's transaction. Returns false when it was already
 * processed or ignored (a duplicate). A concurrent claim of the same id waits on the row until the
 * first transaction ends: committed → duplicate; rolled back → this one processes it.
 * An event that failed before is claimed again (Stripe's retry).
 */
export async function claimEvent(
  trx: Transaction<Database>,
  event: { id: string; type: string; created: number; customerId: string | null },
  status: 'processed' | 'ignored',
): Promise<boolean> {
  const row = await trx
    .insertInto('stripe_events')
    .values({
      event_id: event.id,
      type: event.type,
      stripe_created: event.created,
      stripe_customer_id: event.customerId,
      status,
      attempts: 1,
      processed_at: new Date(),
    })
    .onConflict((oc) =>
      oc
        .column('event_id')
        .doUpdateSet({ status, attempts: sql`stripe_events.attempts + 1`, last_error: null, processed_at: new Date() })
        .where('stripe_events.status', '=', 'failed'),
    )
    .returning('event_id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Records a failed attempt outside the rolled-back transaction; never downgrades a processed event. */
export async function recordEventFailure(
  db: Executor,
  event: { id: string; type: string; created: number; customerId: string | null },
  error: string,
): Promise<void> {
  await db
    .insertInto('stripe_events')
    .values({
      event_id: event.id,
      type: event.type,
      stripe_created: event.created,
      stripe_customer_id: event.customerId,
      status: 'failed',
      attempts: 1,
      last_error: error,
    })
    .onConflict((oc) =>
      oc
        .column('event_id')
        .doUpdateSet({ attempts: sql`stripe_events.attempts + 1`, last_error: error })
        .where('stripe_events.status', '=', 'failed'),
    )
    .execute();
}
