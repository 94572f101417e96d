import { migrateToLatest, startStripeEventWorker } from '@miniapp-billing/billing-core';
import { buildBillingDeps, openDatabase, workerOptions } from './composition.ts';
import { parseEnvOrExit } from './env.ts';
import { createLogger } from './logger.ts';

// `pnpm worker`: drains stored Stripe events, with no HTTP. Run as many as you like beside the API
// processes (start those with EVENT_WORKERS=0): they share one PostgreSQL queue, each customer's
// events are applied in order by one worker at a time, and a worker that dies is replaced when its
// lease (EVENT_WORKER_LEASE_MS) runs out.
const env = parseEnvOrExit(process.env);
const logger = createLogger(env.LOG_LEVEL);
try {
  const database = await openDatabase(env, 'miniapp-billing-worker');
  await migrateToLatest(database.db, database.schema);
  const billing = buildBillingDeps(env, {
    database,
    apiBase: env.STRIPE_API_BASE,
    webhookSecrets: [],
    appUrl: env.APP_URL ?? 'http://localhost',
    logger,
  });
  const options = workerOptions(env);
  const worker = startStripeEventWorker(billing, {
    ...options,
    concurrency: Math.max(1, options.concurrency),
    keepAlive: true,
    onError: (err) => logger.error({ err: { name: (err as Error)?.name } }, 'stripe event worker error'),
  });
  logger.info({ concurrency: Math.max(1, options.concurrency), database: database.kind }, 'worker started');
  const stop = async (signal: string) => {
    logger.info({ signal }, 'worker stopping');
    await worker.stop();
    await database.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (err) {
  logger.fatal({ err: { name: (err as Error)?.name, message: (err as Error)?.message } }, 'worker start-up failed');
  process.exit(1);
}
