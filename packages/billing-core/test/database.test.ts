import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createDatabase, migrateToLatest, migrationsApplied } from '../src/index.ts';
import { testDatabase } from './harness.ts';

describe('persistence', () => {
  it('applies the migrations and reports them applied', async () => {
    const db = await testDatabase();
    try {
      expect(await migrationsApplied(db.db, db.schema)).toBe(true);
      const tables = await sql<{
        table_name: string;
      }>`select table_name from information_schema.tables where table_schema = current_schema()`.execute(db.db);
      const names = tables.rows.map((r) => r.table_name);
      for (const t of ['users', 'stripe_customers', 'subscriptions', 'invoices', 'stripe_events', 'checkout_sessions'])
        expect(names).toContain(t);
      // A second run is a no-op.
      const again = await migrateToLatest(db.db, db.schema);
      expect(again.results).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('migrations are safe to run from two processes at once', async () => {
    const url = process.env.TEST_DATABASE_URL;
    if (process.env.BILLING_TEST_DB !== 'postgres' || !url) {
      // PGlite is embedded in one process: a second migrator on the same folder is the same process.
      const db = await testDatabase();
      await Promise.all([migrateToLatest(db.db), migrateToLatest(db.db)]);
      expect(await migrationsApplied(db.db)).toBe(true);
      await db.close();
      return;
    }
    const schema = `m_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const a = await createDatabase({ url, schema });
    const b = await createDatabase({ url, schema });
    try {
      const results = await Promise.all([migrateToLatest(a.db, schema), migrateToLatest(b.db, schema)]);
      // Every migration applied exactly once between the two of them.
      const applied = results.flatMap((r) => r.results ?? []).filter((r) => r.status === 'Success');
      const alone = (await migrateToLatest(a.db, schema)).results ?? [];
      expect(alone).toEqual([]);
      expect(applied.length).toBeGreaterThan(0);
      expect(new Set(applied.map((r) => r.migrationName)).size).toBe(applied.length);
      expect(await migrationsApplied(b.db, schema)).toBe(true);
    } finally {
      await sql`drop schema ${sql.id(schema)} cascade`.execute(a.db);
      await a.close();
      await b.close();
    }
  });
});
