import path from 'node:path';
import {
  type BillingConfig,
  type BillingDeps,
  createDatabase,
  createRateLimiter,
  createStripeClient,
  type DatabaseHandle,
  eventTypeLabel,
  type NoticeSender,
  noticeStarsLapses,
  noticeStarsRenewals,
  PlanCatalog,
  QueueProblem,
  StripeBudget,
  type StripeEventWorkerOptions,
  startNoticeSender,
  systemClock,
} from '@miniapp-billing/billing-core';
import type { Env } from './env.ts';
import type { Logger } from './logger.ts';
import { instrumentStripe, type Metrics } from './metrics.ts';
import type { BillingBot } from './telegram/bot.ts';

/**
 * The composition root's parts, shared by the server, the worker and every CLI: one way to open the
 * database, one way to build billing-core's dependencies from the environment.
 */

/** PostgreSQL from `DATABASE_URL` (pool size and connect timeout from the environment), else PGlite in `DATA_DIR`. */
export function openDatabase(env: Env, applicationName?: string): Promise<DatabaseHandle> {
  return env.DATABASE_URL
    ? createDatabase({
        url: env.DATABASE_URL,
        poolSize: env.DB_POOL_SIZE,
        connectionTimeoutMillis: env.DB_CONNECT_TIMEOUT_MS,
        ...(env.DATABASE_SCHEMA ? { schema: env.DATABASE_SCHEMA } : {}),
        ...(applicationName ? { applicationName } : {}),
      })
    : createDatabase({ dataDir: path.join(env.DATA_DIR, 'pglite') });
}

/** A live key means live-mode events are ours; test-mode events are then ignored, and the reverse. */
export const isLiveKey = (key: string | undefined) => !!key && /^(sk|rk)_live_/.test(key);

export interface BillingParts {
  database: DatabaseHandle;
  /** The Stripe base URL (the emulator's in the demo), or undefined for api.stripe.com. */
  apiBase: string | undefined;
  webhookSecrets: string[];
  appUrl: string;
  metrics?: Metrics | undefined;
  logger?: Logger | undefined;
  /** Stripe timeout per attempt (CLIs wait longer than a person would). */
  stripeTimeoutMs?: number | undefined;
}

/** billing-core's dependencies: the config, the Stripe client inside the shared budget, the plans, the observer. */
export function buildBillingDeps(env: Env, parts: BillingParts): BillingDeps {
  const config: BillingConfig = {
    catalog: env.catalog,
    appUrl: parts.appUrl,
    allowedRedirectOrigins: env.ALLOWED_REDIRECT_ORIGINS,
    pastDueGraceSeconds: Math.round(env.PAST_DUE_GRACE_DAYS * 86_400),
    webhookSecrets: parts.webhookSecrets,
    webhookToleranceSeconds: 300,
    livemode: isLiveKey(env.STRIPE_SECRET_KEY),
    automaticTax: env.STRIPE_AUTOMATIC_TAX === '1',
  };
  const { metrics, logger } = parts;
  const budget = new StripeBudget(
    createRateLimiter(parts.database, { keyPrefix: 'stripe-budget', points: env.STRIPE_MAX_RPS, duration: 1 }),
    metrics ? (seconds, priority) => metrics.stripeLimiterWait.observe({ priority }, seconds) : undefined,
  );
  const stripe = createStripeClient({
    secretKey: env.STRIPE_SECRET_KEY ?? 'sk_test_emulator',
    apiBase: parts.apiBase,
    timeoutMs: parts.stripeTimeoutMs ?? env.STRIPE_TIMEOUT_MS,
    budget,
  });
  if (metrics) instrumentStripe(stripe, metrics);
  return {
    db: parts.database.db,
    queue: parts.database.queue,
    stripe,
    clock: systemClock,
    config,
    plans: new PlanCatalog(stripe, env.catalog),
    observer: {
      webhook: ({ type, outcome, lagSeconds }) => {
        metrics?.webhookEvents.inc({ type: eventTypeLabel(type), outcome });
        if (outcome === 'processed') metrics?.webhookLag.observe(lagSeconds);
      },
      eventsFailed: (failure) => {
        // Ids, types, attempt and a safe cause code: never a payload, a Stripe message or a secret.
        logger?.warn(
          {
            customer: failure.customerId,
            event_ids: failure.events.slice(0, 20).map((e) => e.id),
            event_types: [...new Set(failure.events.map((e) => e.type))].slice(0, 20),
            events: failure.events.length,
            attempt: failure.attempt,
            cause: failure.cause,
            dead: failure.dead,
            next_attempt_at: failure.nextAttemptAt?.toISOString() ?? null,
          },
          failure.dead ? 'stripe events parked as dead' : 'stripe events failed; will retry',
        );
      },
      jobsDeferred: ({ customers, cause }) => {
        logger?.warn({ customers, cause }, 'stripe events stored without their jobs; the queue sweep adds them');
      },
    },
  };
}

/**
 * billing-core's dependencies for an operator's command (`billing:reconcile`, `billing:user`): the
 * configured Stripe, else the demo's emulator on its port; a patient timeout; no webhooks.
 */
export function cliBillingDeps(env: Env, database: DatabaseHandle): BillingDeps {
  return buildBillingDeps(env, {
    database,
    apiBase: env.STRIPE_API_BASE ?? (env.STRIPE_SECRET_KEY ? undefined : `http://127.0.0.1:${env.STRIPE_EMULATOR_PORT}`),
    webhookSecrets: [],
    appUrl: env.APP_URL ?? 'http://localhost',
    stripeTimeoutMs: 30_000,
  });
}

/** The worker's settings from the environment. */
export function workerOptions(env: Env): StripeEventWorkerOptions & { concurrency: number; pollMs: number } {
  return {
    concurrency: env.EVENT_WORKERS,
    pollMs: env.EVENT_WORKER_POLL_MS,
    leaseMs: env.EVENT_WORKER_LEASE_MS,
    maxAttempts: env.EVENT_MAX_ATTEMPTS,
  };
}

/**
 * How a worker's failures are logged: graphile-worker's own problems in its words (they name jobs and
 * runners, no person and no secret), anything else by its class alone.
 */
export const workerErrorLog = (logger: Logger) => (err: unknown) => {
  if (err instanceof QueueProblem) logger[err.level === 'error' ? 'error' : 'warn']({ queue: err.message }, 'event queue problem');
  else logger.error({ err: { name: (err as Error)?.name } }, 'stripe event worker error');
};

/** The demo bot's token for the in-process Telegram emulator (no real bot has it). */
export const DEMO_BOT_TOKEN = '7000000001:AAEmulatorTokenForTheBillingDemoBot';

/**
 * The sender of billing notices through the bot, for the server and `pnpm worker` alike; with the
 * Stars rail it also writes the notices time brings (a lapse after its grace, a renewal reminder).
 */
export function startBillingNotices(
  billing: BillingDeps,
  bot: BillingBot,
  logger: Logger,
  options: { starsRail: boolean; lapseGraceSeconds: number },
): NoticeSender {
  const graceMs = options.lapseGraceSeconds * 1000;
  return startNoticeSender(billing.db, {
    send: (notice) => bot.sendNotice(notice, billing.config.appUrl, billing.plans.cached()),
    ...(options.starsRail
      ? { beforeEachPass: () => Promise.all([noticeStarsLapses(billing, graceMs), noticeStarsRenewals(billing)]) }
      : {}),
    onError: (err) => logger.error({ err: { name: (err as Error)?.name } }, 'notice sender error'),
  });
}
