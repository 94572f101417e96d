import { migrateToLatest, reconcile } from '@miniapp-billing/billing-core';
import { buildBillingDeps, openDatabase } from '../composition.ts';
import { ConfigError, parseEnv } from '../env.ts';

// `pnpm billing:reconcile`: pages through Stripe's subscriptions and invoices (rate-limited),
// repairs the local mirror and prints the drift it found. Without STRIPE_SECRET_KEY it talks to the
// demo's emulator (STRIPE_API_BASE, or 127.0.0.1:STRIPE_EMULATOR_PORT while `pnpm start` runs).
try {
  const env = parseEnv(process.env);
  const database = await openDatabase(env, 'miniapp-billing-reconcile');
  await migrateToLatest(database.db, database.schema);
  const deps = buildBillingDeps(env, {
    database,
    apiBase: env.STRIPE_API_BASE ?? (env.STRIPE_SECRET_KEY ? undefined : `http://127.0.0.1:${env.STRIPE_EMULATOR_PORT}`),
    webhookSecrets: [],
    appUrl: env.APP_URL ?? 'http://localhost',
    stripeTimeoutMs: 30_000,
  });
  const started = Date.now();
  const report = await reconcile(deps, { requestsPerSecond: 20 });
  console.log(JSON.stringify({ ...report, seconds: (Date.now() - started) / 1000 }));
  await database.close();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `reconciliation failed: ${(err as Error).message}`);
  process.exit(1);
}
