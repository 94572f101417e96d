import type { Insertable } from 'kysely';
import { sql } from 'kysely';
import type { Executor } from '../db/executor.ts';
import type { CheckoutSessionRow, CheckoutSessionTable } from '../db/schema.ts';

export async function findCheckoutSession(db: Executor, sessionId: string): Promise<CheckoutSessionRow | undefined> {
  return db.selectFrom('checkout_sessions').selectAll().where('stripe_session_id', '=', sessionId).executeTakeFirst();
}

export async function findByIdempotencyKey(db: Executor, userId: string, key: string): Promise<CheckoutSessionRow | undefined> {
  return db.selectFrom('checkout_sessions').selectAll().where('user_id', '=', userId).where('idempotency_key', '=', key).executeTakeFirst();
}

export async function listOpenSessions(db: Executor, userId: string): Promise<CheckoutSessionRow[]> {
  return db
    .selectFrom('checkout_sessions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('status', '=', 'open')
    .orderBy('created_at', 'desc')
    .execute();
}

export async function insertCheckoutSession(db: Executor, row: Insertable<CheckoutSessionTable>): Promise<void> {
  await db.insertInto('checkout_sessions').values(row).execute();
}

export async function setCheckoutStatus(db: Executor, sessionId: string, status: CheckoutSessionRow['status']): Promise<void> {
  await db.updateTable('checkout_sessions').set({ status, updated_at: sql`now()` }).where('stripe_session_id', '=', sessionId).execute();
}

/** Frees an idempotency key older than its 24 h window so that it can name a new request. */
export async function releaseIdempotencyKey(db: Executor, sessionId: string): Promise<void> {
  await db.updateTable('checkout_sessions').set({ idempotency_key: null }).where('stripe_session_id', '=', sessionId).execute();
}

/**
 * Claims the right to create the person's one Checkout Session (one row per person). Returns the
 * attempt key to create it under, or undefined while another request holds a live claim. A claim
 * older than `staleMs` (its process died) is taken over; for the same request its attempt key is
 * kept, so Stripe's idempotency returns the session the dead process may already have created.
 */
export async function claimCheckoutCreation(
  db: Executor,
  userId: string,
  requestHash: string,
  attemptKey: string,
  staleMs: number,
): Promise<string | undefined> {
  const row = await db
    .insertInto('checkout_creations')
    .values({ user_id: userId, request_hash: requestHash, attempt_key: attemptKey })
    .onConflict((oc) =>
      oc
        .column('user_id')
        .doUpdateSet({
          attempt_key: sql`case when checkout_creations.request_hash = excluded.request_hash then checkout_creations.attempt_key else excluded.attempt_key end`,
          request_hash: sql`excluded.request_hash`,
          started_at: sql`now()`,
        })
        .where('checkout_creations.started_at', '<', sql<Date>`now() - make_interval(secs => ${staleMs / 1000})`),
    )
    .returning('attempt_key')
    .executeTakeFirst();
  return row?.attempt_key;
}

export async function releaseCheckoutCreation(db: Executor, userId: string, attemptKey: string): Promise<void> {
  await db.deleteFrom('checkout_creations').where('user_id', '=', userId).where('attempt_key', '=', attemptKey).execute();
}
