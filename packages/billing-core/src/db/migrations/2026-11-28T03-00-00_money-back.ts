import { type Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// Money coming back: each card payment that was refunded or disputed, as Stripe last said, with
// what the access policy did about it (`access_ended`), for the policy and the operator's view.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('payment_charges')
    .addColumn('stripe_charge_id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id'))
    .addColumn('stripe_customer_id', 'text', (c) => c.notNull())
    .addColumn('stripe_invoice_id', 'text')
    .addColumn('stripe_subscription_id', 'text')
    .addColumn('amount', 'integer', (c) => c.notNull())
    .addColumn('amount_refunded', 'integer', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('refunded', 'boolean', (c) => c.notNull())
    .addColumn('stripe_dispute_id', 'text')
    .addColumn('dispute_status', 'text')
    .addColumn('dispute_reason', 'text')
    .addColumn('access_ended', 'text')
    .addColumn('stripe_created', 'bigint', (c) => c.notNull())
    .addColumn('state_read_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('payment_charges_user').on('payment_charges').columns(['user_id', 'stripe_created']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('payment_charges').execute();
}
