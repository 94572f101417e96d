import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { createDatabase, type DatabaseHandle } from './db/database.ts';
import { migrateDatabase } from './db/migrate.ts';

/**
 * A fresh, migrated database for one test file: its own schema on the PostgreSQL server in
 * TEST_DATABASE_URL when `postgres` is true, or an in-memory PGlite. Dropped on close.
 * Test support only; production code never imports it.
 */
export async function createTestDatabase(options: {
  postgres: boolean;
  url?: string | undefined;
  poolSize?: number;
  connectionTimeoutMillis?: number;
  applicationName?: string;
  eventQueue?: 'graphile-worker' | 'table';
}): Promise<DatabaseHandle> {
  if (options.postgres && options.url) {
    const schema = `t_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    const handle = await createDatabase({
      url: options.url,
      schema,
      poolSize: options.poolSize ?? 20,
      connectionTimeoutMillis: options.connectionTimeoutMillis,
      applicationName: options.applicationName,
      eventQueue: options.eventQueue,
    });
    await migrateDatabase(handle);
    return {
      ...handle,
      close: async () => {
        await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(handle.db).catch(() => undefined);
        if (handle.queue.kind === 'graphile-worker')
          await sql`drop schema if exists ${sql.id(handle.queue.schema)} cascade`.execute(handle.db).catch(() => undefined);
        await handle.close();
      },
    };
  }
  const handle = await createDatabase();
  await migrateDatabase(handle);
  return handle;
}
