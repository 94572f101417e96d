import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createRateLimiter,
  type DatabaseHandle,
  migrateDatabase,
  type NoticeSender,
  queueStats,
  receiptsSettled,
  type StripeEventWorker,
  sellsInStars,
  startStripeEventWorker,
} from '@miniapp-billing/billing-core';
import type { RunningEmulator } from '@miniapp-billing/stripe-emulator';
import type { RunningTelegramEmulator } from '@miniapp-billing/telegram-emulator';
import type Stripe from 'stripe';
import { createHandler } from './app.ts';
import { TokenService } from './auth/jwt.ts';
import { PlatformTokens } from './auth/platform.ts';
import { UserCache } from './auth/user-cache.ts';
import { buildBillingDeps, DEMO_BOT_TOKEN, openDatabase, startBillingNotices, workerErrorLog, workerOptions } from './composition.ts';
import { type ApiDeps, parseServiceTokens } from './context.ts';
import { ConfigError, type Env } from './env.ts';
import { type Listening, listenShared } from './http/listen.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, observeQueue } from './metrics.ts';
import { type BillingBot, createBillingBot } from './telegram/bot.ts';

export interface RunningServer {
  url: string;
  port: number;
  deps: ApiDeps;
  database: DatabaseHandle;
  emulator: RunningEmulator | undefined;
  /** The Telegram emulator the demo runs for the Stars rail (its Bot API and control API). */
  telegram: RunningTelegramEmulator | undefined;
  demo: boolean;
  close(): Promise<void>;
}

export interface ServerOptions {
  logger?: Logger;
  /** An already-open database (tests pass their own schema). */
  database?: DatabaseHandle;
}

const DEFAULT_MINIAPP_DIST = fileURLToPath(new URL('../../../apps/miniapp/dist', import.meta.url));

/** A secret kept in DATA_DIR so that demo tokens and webhooks survive restarts. */
function keptSecret(dataDir: string, name: string, make: () => string): string {
  const file = path.join(dataDir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const value = make();
  writeFileSync(file, value, { mode: 0o600 });
  return value;
}

/**
 * The demo's promotion code, as a Stripe account would have one: WELCOME10, 10 % off the first
 * invoice. Made once through the Stripe API; the emulator keeps it across restarts.
 */
async function seedDemoPromotion(stripe: Stripe): Promise<void> {
  const existing = await stripe.promotionCodes.list({ code: DEMO_PROMOTION_CODE, limit: 1 });
  if (existing.data.length > 0) return;
  const coupon = await stripe.coupons.create({ percent_off: 10, duration: 'once', name: 'Welcome' });
  await stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: DEMO_PROMOTION_CODE });
}
export const DEMO_PROMOTION_CODE = 'WELCOME10';

/**
 * The composition root: builds every dependency from the environment and starts listening.
 * With no STRIPE_SECRET_KEY (and not in production) it is the demo: the emulator in-process,
 * delivering signed webhooks to this server, and PGlite in DATA_DIR.
 */
export async function startServer(env: Env, options: ServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(env.LOG_LEVEL);
  const demo = !env.STRIPE_SECRET_KEY && env.NODE_ENV !== 'production';
  if (!env.STRIPE_SECRET_KEY && !demo) throw new ConfigError('Invalid configuration:\n  STRIPE_SECRET_KEY: is required');
  mkdirSync(env.DATA_DIR, { recursive: true });

  const jwtSecret = env.JWT_SECRET ?? keptSecret(env.DATA_DIR, 'jwt-secret', () => randomBytes(48).toString('base64url'));
  const webhookSecrets = env.STRIPE_WEBHOOK_SECRET.length
    ? env.STRIPE_WEBHOOK_SECRET
    : demo
      ? [keptSecret(env.DATA_DIR, 'webhook-secret', () => `whsec_${randomBytes(24).toString('base64url').replace(/[-_]/g, 'x')}`)]
      : [];
  if (webhookSecrets.length === 0) throw new ConfigError('Invalid configuration:\n  STRIPE_WEBHOOK_SECRET: is required');

  let emulator: RunningEmulator | undefined;
  let apiBase = env.STRIPE_API_BASE;
  if (demo) {
    const { startEmulator, realismFromEnv, STRIPE_LIKE } = await import('@miniapp-billing/stripe-emulator');
    let realism: ReturnType<typeof realismFromEnv>;
    try {
      const {
        STRIPE_EMULATOR_LATENCY_MS,
        STRIPE_EMULATOR_RATE_LIMIT,
        STRIPE_EMULATOR_WEBHOOK_CONCURRENCY,
        STRIPE_EMULATOR_WEBHOOK_JITTER_MS,
      } = env;
      realism = realismFromEnv(
        { STRIPE_EMULATOR_LATENCY_MS, STRIPE_EMULATOR_RATE_LIMIT, STRIPE_EMULATOR_WEBHOOK_CONCURRENCY, STRIPE_EMULATOR_WEBHOOK_JITTER_MS },
        STRIPE_LIKE,
      );
    } catch (err) {
      throw new ConfigError(`Invalid configuration:\n  ${(err as Error).message}`);
    }
    emulator = await startEmulator({
      port: env.STRIPE_EMULATOR_PORT,
      realism,
      host: '127.0.0.1',
      stateFile: path.join(env.DATA_DIR, 'stripe-emulator.json'),
    });
    apiBase = emulator.url;
  }

  // The Telegram Stars rail: on when plans have Stars prices and the bot has a token. The demo runs
  // the Telegram emulator in-process (its own bot token unless one is configured) and sells in Stars.
  let telegram: RunningTelegramEmulator | undefined;
  const sellsStars = sellsInStars(env.catalog);
  const botToken = env.TELEGRAM_BOT_TOKEN ?? (demo ? DEMO_BOT_TOKEN : undefined);
  if (demo && sellsStars && botToken) {
    const { startTelegramEmulator } = await import('@miniapp-billing/telegram-emulator');
    telegram = await startTelegramEmulator({
      port: env.TELEGRAM_EMULATOR_PORT,
      host: '127.0.0.1',
      token: botToken,
      ...(env.TELEGRAM_BOT_USERNAME ? { botUsername: env.TELEGRAM_BOT_USERNAME } : {}),
    });
  }
  const telegramSecret =
    env.TELEGRAM_WEBHOOK_SECRET ??
    (telegram ? keptSecret(env.DATA_DIR, 'telegram-webhook-secret', () => randomBytes(32).toString('base64url')) : undefined);

  const database = options.database ?? (await openDatabase(env));
  let sockets: Listening | undefined;
  let worker: StripeEventWorker | undefined;
  let noticeSender: NoticeSender | undefined;
  try {
    await migrateDatabase(database);
    const metrics = createMetrics();
    // Listen first: the app URL may depend on the port we get; requests are served once wired below.
    // Until the handler is wired, a request is answered at once, never left waiting: 503, try again.
    const starting = (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1', connection: 'close' });
      res.end('{"status":"starting"}');
    };
    const listening = createServer(starting);
    listening.keepAliveTimeout = 65_000;
    const listeners = await listenShared(listening, env.PORT, env.HOST, env.LISTEN_SOCKETS);
    sockets = listeners;
    const port = listeners.port;
    const url = `http://${env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST}:${port}`;
    const appUrl = env.APP_URL ?? url;

    const billing = buildBillingDeps(env, { database, apiBase, webhookSecrets, appUrl, metrics, logger });
    // The bot: for the Stars rail (priced plans and a webhook secret), and for notices when they are on.
    const starsRail = sellsStars && !!telegramSecret;
    const notices = env.BOT_NOTICES === '1' || (demo && env.BOT_NOTICES !== '0');
    let bot: BillingBot | undefined;
    if (botToken && (starsRail || notices)) {
      bot = createBillingBot(billing, logger, {
        token: botToken,
        secret: telegramSecret,
        apiRoot: env.TELEGRAM_API_ROOT ?? telegram?.apiRoot,
      });
    }
    if (bot && starsRail) {
      billing.config.starsRail = true;
      billing.telegram = bot.api;
    }
    // The demo's clock is Telegram's: moving the emulator's clock (renewals, lapses) moves ours.
    if (telegram) {
      const tg = telegram;
      billing.clock = { now: () => new Date(tg.state.now() * 1000) };
    }
    if (bot && notices && env.EVENT_WORKERS > 0)
      noticeSender = startBillingNotices(billing, bot, logger, {
        starsRail,
        lapseGraceSeconds: env.STARS_LAPSE_GRACE_SECONDS ?? (demo ? 2 : 600),
      });
    observeQueue(metrics, () => queueStats(database.db, database.queue));
    if (env.EVENT_WORKERS > 0) {
      worker = startStripeEventWorker(billing, {
        ...workerOptions(env),
        onError: workerErrorLog(logger),
      });
    }
    const deps: ApiDeps = {
      billing,
      users: new UserCache(database.db),
      tokens: new TokenService({ secret: jwtSecret, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE, ttlSeconds: env.JWT_TTL_SECONDS }),
      metrics,
      logger,
      telegram: {
        botToken: env.TELEGRAM_BOT_TOKEN,
        maxAgeSeconds: env.TELEGRAM_AUTH_MAX_AGE_SECONDS,
        botUsername: env.TELEGRAM_BOT_USERNAME,
        appName: env.TELEGRAM_APP_NAME,
      },
      demo,
      billingActions: createRateLimiter(database, { keyPrefix: 'billing-actions', points: env.BILLING_ACTIONS_PER_MINUTE, duration: 60 }),
      wakeWorkers: () => worker?.wake(),
      bot,
      serviceTokens: parseServiceTokens(env.SERVICE_TOKENS),
      platformTokens:
        env.PLATFORM_JWT_ISSUER && env.PLATFORM_JWT_AUDIENCE && (env.PLATFORM_JWT_SECRET || env.PLATFORM_JWKS_URL)
          ? new PlatformTokens(database.db, {
              issuer: env.PLATFORM_JWT_ISSUER,
              audience: env.PLATFORM_JWT_AUDIENCE,
              secret: env.PLATFORM_JWT_SECRET,
              jwksUrl: env.PLATFORM_JWKS_URL,
              maxLifetimeSeconds: env.PLATFORM_JWT_MAX_LIFETIME_SECONDS,
              clockSkewSeconds: env.PLATFORM_JWT_CLOCK_SKEW_SECONDS,
              jwksCooldownSeconds: env.PLATFORM_JWKS_COOLDOWN_SECONDS,
              telegramIdClaim: env.PLATFORM_CLAIM_TELEGRAM_ID,
              emailClaim: env.PLATFORM_CLAIM_EMAIL,
            })
          : undefined,
    };
    listening.off('request', starting);
    listening.on(
      'request',
      createHandler(deps, {
        metricsToken: env.METRICS_TOKEN,
        databaseSchema: database.schema,
        miniappDist: env.MINIAPP_DIST ?? DEFAULT_MINIAPP_DIST,
        maxBatchSize: env.TRPC_MAX_BATCH,
        publicUrl: appUrl,
        sourceMaps: env.NODE_ENV !== 'production',
        ping: () => database.ping(),
        docs: env.API_DOCS === undefined ? env.NODE_ENV !== 'production' : env.API_DOCS === '1',
        publicConfig: {
          demo,
          // The rails the Mini App offers inside Telegram: Stars only where the rail is on.
          rails: env.RAILS.filter((r) => r === 'stripe' || (r === 'stars' && starsRail)),
          app_url: appUrl,
          telegram_bot_username: env.TELEGRAM_BOT_USERNAME ?? null,
          telegram_app_name: env.TELEGRAM_APP_NAME ?? null,
          time_zone: env.STRIPE_ACCOUNT_TIME_ZONE,
        },
      }),
    );
    // The demo account's promotion code, made before the webhook is set (its events are the account's).
    if (emulator) await seedDemoPromotion(billing.stripe);
    if (emulator) emulator.setWebhook({ url: `${url}/api/v1/billing/webhooks/stripe`, secret: webhookSecrets[0] as string });
    if (telegram && bot && telegramSecret) {
      await bot.init();
      await bot.api.setWebhook(`${url}/api/v1/telegram/webhook`, { secret_token: telegramSecret });
    }

    try {
      await billing.plans.list();
    } catch {
      logger.warn('could not load plan prices from Stripe at start-up; will retry on first use');
    }

    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      deps,
      database,
      emulator,
      telegram,
      demo,
      close: () => {
        closing ??= (async () => {
          await listeners.close();
          // Webhooks already acknowledged: their customers' jobs are added before the pool closes.
          await receiptsSettled(deps.billing.db);
          await worker?.stop();
          await noticeSender?.stop();
          await emulator?.close();
          await telegram?.close();
          if (!options.database) await database.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await sockets?.close(0);
    await worker?.stop();
    await noticeSender?.stop();
    await emulator?.close();
    await telegram?.close();
    if (!options.database) await database.close();
    throw err;
  }
}
