import path from 'node:path';
import { createDatabase, migrateDatabase } from '@miniapp-billing/billing-core';
import { ConfigError, parseEnv } from '../env.ts';

// `pnpm db:migrate`: brings DATABASE_URL (or the PGlite in DATA_DIR) to the latest schema.
// Safe to run while the service runs and from several machines at once.
try {
  const env = parseEnv(process.env);
  const database = await createDatabase(env.DATABASE_URL ? { url: env.DATABASE_URL } : { dataDir: path.join(env.DATA_DIR, 'pglite') });
  const result = await migrateDatabase(database);
  for (const r of result.results ?? []) console.log(`${r.status === 'Success' ? 'applied' : r.status}: ${r.migrationName}`);
  if (!result.results?.length) console.log('already up to date');
  await database.close();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `migration failed: ${(err as Error).message}`);
  process.exit(1);
}
