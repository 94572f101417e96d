import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// The price an invoice is mostly for (its largest line), so the history can say what it paid for in
// words ("Premium · monthly", "Change to VIP (prorated)") instead of Stripe's line text.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('invoices').addColumn('price_id', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('invoices').dropColumn('price_id').execute();
}
