import { type Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// On PostgreSQL, Stripe events are run by graphile-worker, whose lock on a job lasts four hours when
// its worker dies without letting go (a SIGKILL, a lost machine). Each runner writes here, every few
// seconds, the ids of its workers; a job locked by a worker missing from here for longer than the lease
// is unlocked (graphile-worker's `force_unlock_workers`) and runs again on a live worker.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('event_queue_workers')
    .addColumn('worker_id', 'text', (c) => c.primaryKey())
    .addColumn('seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('event_queue_workers').ifExists().execute();
}
