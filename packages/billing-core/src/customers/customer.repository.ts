import type { Executor, Trx } from '../db/executor.ts';

export async function findCustomerIdByUser(db: Executor, userId: string): Promise<string | undefined> {
  const row = await db.selectFrom('stripe_customers').select('stripe_customer_id').where('user_id', '=', userId).executeTakeFirst();
  return row?.stripe_customer_id;
}

export async function findUserIdByCustomer(db: Executor, customerId: string): Promise<string | undefined> {
  const row = await db.selectFrom('stripe_customers').select('user_id').where('stripe_customer_id', '=', customerId).executeTakeFirst();
  return row?.user_id;
}

/** Records the one customer of a user. Returns false when the user or the customer is already mapped. */
export async function insertCustomerMapping(db: Executor, userId: string, customerId: string): Promise<boolean> {
  const result = await db
    .insertInto('stripe_customers')
    .values({ user_id: userId, stripe_customer_id: customerId })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/**
 * Stripe deleted the customer: forget the mapping (the next checkout makes a new customer) and end
 * every subscription the mirror still has for it. Idempotent. Returns the user it belonged to.
 */
export async function forgetCustomer(trx: Trx, customerId: string, readAt: number): Promise<string | undefined> {
  const row = await trx.deleteFrom('stripe_customers').where('stripe_customer_id', '=', customerId).returning('user_id').executeTakeFirst();
  await trx
    .updateTable('subscriptions')
    .set({ status: 'canceled', ended_at: new Date(readAt), state_read_at: readAt, updated_at: new Date() })
    .where('stripe_customer_id', '=', customerId)
    .where('status', '!=', 'canceled')
    .execute();
  return row?.user_id;
}
