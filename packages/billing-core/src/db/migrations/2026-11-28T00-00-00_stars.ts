import { type Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// The Telegram Stars rail. A Stars subscription is keyed by its invoice payload (which names the
// person, the plan and the invoice, and which every renewal carries again); access lasts until
// `expires_at`, Telegram's `subscription_expiration_date`, so a lapse needs no message. Every
// payment (first and renewals) is a row of `star_payments`, keyed by Telegram's charge id: the
// invoice history and the once-only guard. `telegram_updates` remembers the update ids the bot has
// taken, so a replayed update changes nothing. `lapse_seen_at` is when a paid period was first seen
// over with no renewal: the "plan ended" notice waits a grace after it for a renewal still on its way.
// `reminded_for` is the expiration the "renews in 3 days" reminder was written for.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('star_subscriptions')
    .addColumn('payload', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('restrict'))
    .addColumn('plan_id', 'text', (c) => c.notNull())
    .addColumn('amount', 'integer', (c) => c.notNull())
    .addColumn('first_charge_id', 'text', (c) => c.notNull().unique())
    .addColumn('last_charge_id', 'text', (c) => c.notNull())
    .addColumn('period_start', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('canceled', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('refunded_at', 'timestamptz')
    .addColumn('lapse_seen_at', 'timestamptz')
    .addColumn('lapse_noticed', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('reminded_for', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('star_subscriptions_user_idx').on('star_subscriptions').columns(['user_id', 'expires_at']).execute();
  // The sender's passes look for plans near or past their expiration (reminders, lapses).
  await db.schema.createIndex('star_subscriptions_expires_idx').on('star_subscriptions').column('expires_at').execute();

  await db.schema
    .createTable('star_payments')
    .addColumn('telegram_payment_charge_id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('restrict'))
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('plan_id', 'text', (c) => c.notNull())
    .addColumn('amount', 'integer', (c) => c.notNull())
    .addColumn('recurring', 'boolean', (c) => c.notNull())
    .addColumn('paid_at', 'timestamptz', (c) => c.notNull())
    .addColumn('refunded_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('star_payments_user_idx').on('star_payments').columns(['user_id', 'paid_at']).execute();

  await db.schema
    .createTable('telegram_updates')
    .addColumn('update_id', 'bigint', (c) => c.primaryKey())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('telegram_updates').execute();
  await db.schema.dropTable('star_payments').execute();
  await db.schema.dropTable('star_subscriptions').execute();
}
