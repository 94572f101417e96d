import path from 'node:path';
import {
  type BillingDeps,
  createDatabase,
  createStripeClient,
  DEFAULT_PRICE_MAP,
  migrateToLatest,
  PlanCatalog,
  parsePriceMap,
  reconcile,
  systemClock,
} from '@miniapp-billing/billing-core';
import { ConfigError, parseEnv } from '../env.ts';

// `pnpm billing:reconcile`: pages through Stripe's subscriptions and invoices (rate-limited),
// repairs the local mirror and prints the drift it found. Without STRIPE_SECRET_KEY it talks to the
// demo's emulator (STRIPE_API_BASE, or 127.0.0.1:STRIPE_EMULATOR_PORT while `pnpm start` runs).
try {
  const env = parseEnv(process.env);
  const database = await createDatabase(env.DATABASE_URL ? { url: env.DATABASE_URL } : { dataDir: path.join(env.DATA_DIR, 'pglite') });
  await migrateToLatest(database.db, database.schema);
  const stripe = createStripeClient({
    secretKey: env.STRIPE_SECRET_KEY ?? 'sk_test_emulator',
    apiBase: env.STRIPE_API_BASE ?? (env.STRIPE_SECRET_KEY ? undefined : `http://127.0.0.1:${env.STRIPE_EMULATOR_PORT}`),
    timeoutMs: 30_000,
  });
  const priceMap = env.STRIPE_PRICE_MAP_JSON ? parsePriceMap(env.STRIPE_PRICE_MAP_JSON) : DEFAULT_PRICE_MAP;
  const deps: BillingDeps = {
    db: database.db,
    stripe,
    clock: systemClock,
    plans: new PlanCatalog(stripe, priceMap),
    config: {
      priceMap,
      appUrl: env.APP_URL ?? 'http://localhost',
      allowedRedirectOrigins: [],
      pastDueGraceSeconds: env.PAST_DUE_GRACE_DAYS * 86_400,
      webhookSecrets: [],
      webhookToleranceSeconds: 300,
    },
  };
  const started = Date.now();
  const report = await reconcile(deps, { requestsPerSecond: 20 });
  console.log(JSON.stringify({ ...report, seconds: (Date.now() - started) / 1000 }));
  await database.close();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `reconciliation failed: ${(err as Error).message}`);
  process.exit(1);
}
