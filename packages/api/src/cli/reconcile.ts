import { migrateDatabase, reconcile, reconcileStars, sellsInStars } from '@miniapp-billing/billing-core';
import { Api } from 'grammy';
import { cliBillingDeps, DEMO_BOT_TOKEN, openDatabase } from '../composition.ts';
import { ConfigError, parseEnv } from '../env.ts';

// `pnpm billing:reconcile`: pages through Stripe's subscriptions and invoices (rate-limited),
// repairs the local mirror and prints the drift it found. Without STRIPE_SECRET_KEY it talks to the
// demo's emulator (STRIPE_API_BASE, or 127.0.0.1:STRIPE_EMULATOR_PORT while `pnpm start` runs).
// With the Stars rail (Stars prices in the catalog and a bot token) it also reads the bot's
// Star transactions (getStarTransactions) and applies any payment or refund the mirror missed.
try {
  const env = parseEnv(process.env);
  const database = await openDatabase(env, 'miniapp-billing-reconcile');
  await migrateDatabase(database);
  const deps = cliBillingDeps(env, database);
  const started = Date.now();
  const report = await reconcile(deps, { requestsPerSecond: 20 });
  const demo = !env.STRIPE_SECRET_KEY;
  const token = env.TELEGRAM_BOT_TOKEN ?? (demo ? DEMO_BOT_TOKEN : undefined);
  const stars =
    token && sellsInStars(env.catalog)
      ? await reconcileStars(
          deps,
          new Api(token, {
            apiRoot: env.TELEGRAM_API_ROOT ?? (demo ? `http://127.0.0.1:${env.TELEGRAM_EMULATOR_PORT}` : 'https://api.telegram.org'),
          }),
        )
      : undefined;
  console.log(JSON.stringify({ ...report, ...(stars ? { stars } : {}), seconds: (Date.now() - started) / 1000 }));
  await database.close();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `reconciliation failed: ${(err as Error).message}`);
  process.exit(1);
}
