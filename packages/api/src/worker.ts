import { migrateDatabase, type NoticeSender, sellsInStars, startStripeEventWorker } from '@miniapp-billing/billing-core';
import { buildBillingDeps, openDatabase, startBillingNotices, workerErrorLog, workerOptions } from './composition.ts';
import { parseEnvOrExit } from './env.ts';
import { createLogger } from './logger.ts';
import { createBillingBot } from './telegram/bot.ts';

// `pnpm worker`: drains stored Stripe events, with no HTTP. Run as many as you like beside the API
// processes (start those with EVENT_WORKERS=0): they share one PostgreSQL queue, each customer's
// events are applied in order by one worker at a time, and a worker that dies is replaced when its
// lease (EVENT_WORKER_LEASE_MS) runs out. With BOT_NOTICES=1 it also sends billing notices through
// the bot, each once, shared with every other sender by lease.
const env = parseEnvOrExit(process.env);
const logger = createLogger(env.LOG_LEVEL);
try {
  const database = await openDatabase(env, 'miniapp-billing-worker');
  await migrateDatabase(database);
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
    onError: workerErrorLog(logger),
  });
  // Billing notices through the bot, when they are on (BOT_NOTICES=1 and a bot token).
  let notices: NoticeSender | undefined;
  if (env.BOT_NOTICES === '1' && env.TELEGRAM_BOT_TOKEN) {
    const bot = createBillingBot(billing, logger, { token: env.TELEGRAM_BOT_TOKEN, secret: undefined, apiRoot: env.TELEGRAM_API_ROOT });
    notices = startBillingNotices(billing, bot, logger, {
      starsRail: sellsInStars(env.catalog),
      lapseGraceSeconds: env.STARS_LAPSE_GRACE_SECONDS ?? 600,
    });
  }
  logger.info({ concurrency: Math.max(1, options.concurrency), database: database.kind, notices: !!notices }, 'worker started');
  const stop = async (signal: string) => {
    logger.info({ signal }, 'worker stopping');
    await worker.stop();
    await notices?.stop();
    await database.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (err) {
  logger.fatal({ err: { name: (err as Error)?.name, message: (err as Error)?.message } }, 'worker start-up failed');
  process.exit(1);
}
