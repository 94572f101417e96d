import { runMigrations } from 'graphile-worker';
import { type Kysely, type Migration, type MigrationProvider, type MigrationResultSet, Migrator } from 'kysely';
import { quietLogger } from '../webhooks/graphile-logger.ts';
import type { DatabaseHandle } from './database.ts';
import * as initial from './migrations/2026-11-26T00-00-00_initial.ts';
import * as eventQueue from './migrations/2026-11-27T00-00-00_event-queue.ts';
import * as stars from './migrations/2026-11-28T00-00-00_stars.ts';
import * as noticeDelivery from './migrations/2026-11-28T01-00-00_notice-delivery.ts';
import * as platformIdentity from './migrations/2026-11-28T02-00-00_platform-identity.ts';
import * as moneyBack from './migrations/2026-11-28T03-00-00_money-back.ts';
import * as invoicePrice from './migrations/2026-11-28T04-00-00_invoice-price.ts';
import * as queueWorkers from './migrations/2026-11-28T05-00-00_queue-workers.ts';

/** Every migration, by name; names sort by their timestamp prefix. Static so that bundles carry them. */
const migrations: Record<string, Migration> = {
  '2026-11-26T00-00-00_initial': initial,
  '2026-11-27T00-00-00_event-queue': eventQueue,
  '2026-11-28T00-00-00_stars': stars,
  '2026-11-28T01-00-00_notice-delivery': noticeDelivery,
  '2026-11-28T02-00-00_platform-identity': platformIdentity,
  '2026-11-28T03-00-00_money-back': moneyBack,
  '2026-11-28T04-00-00_invoice-price': invoicePrice,
  '2026-11-28T05-00-00_queue-workers': queueWorkers,
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

/**
 * Our migrations, then the event queue's: on PostgreSQL graphile-worker installs or upgrades its own
 * schema (it, too, is safe from several processes at once).
 */
export async function migrateDatabase(handle: DatabaseHandle): Promise<MigrationResultSet> {
  const result = await migrateToLatest(handle.db, handle.schema);
  if (handle.queue.kind === 'graphile-worker' && handle.pool) {
    await runMigrations({ pgPool: handle.pool, schema: handle.queue.schema, logger: quietLogger });
  }
  return result;
}

/** True when every known migration has been applied (readiness check). */
export async function migrationsApplied(db: Kysely<any>, schema = 'public'): Promise<boolean> {
  const migrator = new Migrator({ db, provider, migrationTableSchema: schema });
  const all = await migrator.getMigrations();
  return all.every((m) => m.executedAt !== undefined);
}
