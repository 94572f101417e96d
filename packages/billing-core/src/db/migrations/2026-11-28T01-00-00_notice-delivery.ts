import { type Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// The outbox of notices gets a sender. Each notice moves pending → sending → sent (or skipped: no
// Telegram chat, or the person blocked the bot; failed: Telegram refused it for good; unconfirmed:
// the sender lost track mid-send, and it is never sent again, so no one hears twice). A claim is a
// lease (`locked_until`), so several senders in several processes share the outbox. Notices written
// before there was a sender are too old to send: they are marked skipped. `users.telegram_blocked_at`
// remembers who blocked the bot, until they sign in through Telegram again.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('billing_notifications')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('locked_until', 'timestamptz')
    .addColumn('sent_at', 'timestamptz')
    .addColumn('last_error', 'text')
    .execute();
  await sql`update billing_notifications set status = 'skipped', last_error = 'written before notices were sent'`.execute(db);
  await db.schema.createIndex('billing_notifications_due_idx').on('billing_notifications').columns(['status', 'next_attempt_at']).execute();
  await db.schema.alterTable('users').addColumn('telegram_blocked_at', 'timestamptz').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('telegram_blocked_at').execute();
  await db.schema.dropIndex('billing_notifications_due_idx').execute();
  await db.schema
    .alterTable('billing_notifications')
    .dropColumn('status')
    .dropColumn('attempts')
    .dropColumn('next_attempt_at')
    .dropColumn('locked_until')
    .dropColumn('sent_at')
    .dropColumn('last_error')
    .execute();
}
