import type { Insertable } from 'kysely';
import { sql, type Transaction } from 'kysely';
import type { Db } from '../db/database.ts';
import type { CheckoutSessionRow, CheckoutSessionTable, Database } from '../db/schema.ts';

type Executor = Db | Transaction<Database>;

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
