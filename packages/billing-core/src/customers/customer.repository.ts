import type { Transaction } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';

type Executor = Db | Transaction<Database>;

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
