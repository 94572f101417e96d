import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createDatabase, migrateToLatest, migrationsApplied } from '../src/index.ts';
import { listUserSubscriptionViews } from '../src/subscriptions/subscription.repository.ts';
import { createTestDatabase } from '../src/testing.ts';
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
    if (!url) {
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

  it('hot reads are prepared once per connection on PostgreSQL, and read the same rows either way', async () => {
    const postgres = !!process.env.TEST_DATABASE_URL;
    // One connection, so that what it prepared can be read back on it.
    const db = await createTestDatabase({ postgres, url: process.env.TEST_DATABASE_URL, poolSize: 1 });
    try {
      const user = randomUUID();
      await db.db.insertInto('users').values({ id: user, name: 'Prepared' }).execute();
      await db.db
        .insertInto('subscriptions')
        .values({
          stripe_subscription_id: 'sub_prepared',
          user_id: user,
          stripe_customer_id: 'cus_prepared',
          stripe_item_id: 'si_prepared',
          plan_id: 'premium_monthly',
          price_id: 'price_premium_monthly',
          amount: 2900,
          currency: 'usd',
          interval: 'month',
          status: 'active',
          cancel_at_period_end: false,
          stripe_created: 1_700_000_000,
          state_read_at: 1,
        })
        .execute();
      const reads = [];
      for (let n = 0; n < 3; n++) reads.push(await listUserSubscriptionViews(db.db, n === 2 ? randomUUID() : user));
      expect(reads[0]).toEqual([expect.objectContaining({ rail: 'stripe', stripe_subscription_id: 'sub_prepared', status: 'active' })]);
      expect(reads[1]).toEqual(reads[0]);
      expect(reads[2]).toEqual([]);
      // An unmarked statement runs as before (unnamed).
      await db.db.selectFrom('users').select('id').where('id', '=', user).execute();
      if (!postgres) return;
      const prepared = await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(db.db);
      // Three calls, two users: one statement, prepared on the first call and reused after.
      expect(prepared.rows).toHaveLength(1);
      expect(prepared.rows[0]?.name).toMatch(/^p_[0-9a-f]{24}$/);
      expect(prepared.rows[0]?.statement).toContain('star_subscriptions');
    } finally {
      await db.close();
    }
  });
});
