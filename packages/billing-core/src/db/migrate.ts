import { type Kysely, type Migration, type MigrationProvider, type MigrationResultSet, Migrator } from 'kysely';
import * as initial from './migrations/2026-11-26T00-00-00_initial.ts';
import * as eventQueue from './migrations/2026-11-27T00-00-00_event-queue.ts';
import * as stars from './migrations/2026-11-28T00-00-00_stars.ts';
import * as noticeDelivery from './migrations/2026-11-28T01-00-00_notice-delivery.ts';
import * as platformIdentity from './migrations/2026-11-28T02-00-00_platform-identity.ts';
import * as moneyBack from './migrations/2026-11-28T03-00-00_money-back.ts';
import * as invoicePrice from './migrations/2026-11-28T04-00-00_invoice-price.ts';

/** Every migration, by name; names sort by their timestamp prefix. Static so that bundles carry them. */
const migrations: Record<string, Migration> = {
  '2026-11-26T00-00-00_initial': initial,
  '2026-11-27T00-00-00_event-queue': eventQueue,
  '2026-11-28T00-00-00_stars': stars,
  '2026-11-28T01-00-00_notice-delivery': noticeDelivery,
  '2026-11-28T02-00-00_platform-identity': platformIdentity,
  '2026-11-28T03-00-00_money-back': moneyBack,
  '2026-11-28T04-00-00_invoice-price': invoicePrice,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Brings the schema to the latest migration. Safe to run from several processes at once: Kysely's
 * Migrator holds a PostgreSQL advisory lock while it migrates. Throws when a migration failed
 * (the Migrator itself never throws: its result is checked here).
 */
export async function migrateToLatest(db: Kysely<any>, schema = 'public'): Promise<MigrationResultSet> {
  // The ledger lives in the schema it describes: other schemas' ledgers in the same database are not ours.
  const migrator = new Migrator({ db, provider, migrationTableSchema: schema });
  const result = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '(setup)'} failed`, { cause: result.error });
  }
  return result;
}

/** True when every known migration has been applied (readiness check). */
export async function migrationsApplied(db: Kysely<any>, schema = 'public'): Promise<boolean> {
  const migrator = new Migrator({ db, provider, migrationTableSchema: schema });
  const all = await migrator.getMigrations();
  return all.every((m) => m.executedAt !== undefined);
}
