import { type Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// Webhooks are acknowledged as soon as they are stored; workers drain them per customer. The ledger
// (`stripe_events`) keeps what each event named, and `stripe_customer_jobs` holds one row per customer
// with events waiting: claiming that row (a lease, not a lock held across the network) is what keeps
// one customer's events in order and lets several events share one re-read.
// `checkout_creations` holds the one Checkout Session being created for a person, so that a second
// request waits for or reuses it instead of opening another.
// `rate_limits` is rate-limiter-flexible's table (its own shape): per-person limits and the Stripe
// request budget, shared by every process.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('stripe_events')
    .addColumn('object_type', 'text')
    .addColumn('object_id', 'text')
    .addColumn('summary', 'jsonb')
    .addColumn('next_attempt_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('stripe_events_customer_pending_idx').on('stripe_events').columns(['stripe_customer_id', 'status']).execute();
  await db.schema.createIndex('stripe_events_status_idx').on('stripe_events').columns(['status', 'received_at']).execute();

  await db.schema
    .createTable('stripe_customer_jobs')
    .addColumn('stripe_customer_id', 'text', (c) => c.primaryKey())
    .addColumn('run_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('locked_until', 'timestamptz')
    .addColumn('locked_by', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('version', 'bigint', (c) => c.notNull().defaultTo(1))
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('stripe_customer_jobs_due_idx').on('stripe_customer_jobs').columns(['run_at']).execute();

  await db.schema
    .createTable('checkout_creations')
    .addColumn('user_id', 'uuid', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('attempt_key', 'text', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('rate_limits')
    .addColumn('key', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('points', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expire', 'bigint')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limits').ifExists().execute();
  await db.schema.dropTable('checkout_creations').ifExists().execute();
  await db.schema.dropTable('stripe_customer_jobs').ifExists().execute();
  await db.schema.dropIndex('stripe_events_status_idx').ifExists().execute();
  await db.schema.dropIndex('stripe_events_customer_pending_idx').ifExists().execute();
  await db.schema
    .alterTable('stripe_events')
    .dropColumn('object_type')
    .dropColumn('object_id')
    .dropColumn('summary')
    .dropColumn('next_attempt_at')
    .execute();
}
