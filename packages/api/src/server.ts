import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BillingConfig,
  type BillingDeps,
  createDatabase,
  createStripeClient,
  type DatabaseHandle,
  DEFAULT_PRICE_MAP,
  migrateToLatest,
  PlanCatalog,
  parsePriceMap,
  systemClock,
} from '@miniapp-billing/billing-core';
import type { RunningEmulator } from '@miniapp-billing/stripe-emulator';
import { createHandler } from './app.ts';
import { TokenService } from './auth/jwt.ts';
import { UserCache } from './auth/user-cache.ts';
import type { ApiDeps } from './context.ts';
import { ConfigError, type Env } from './env.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, instrumentStripe } from './metrics.ts';

export interface RunningServer {
  url: string;
  port: number;
  deps: ApiDeps;
  database: DatabaseHandle;
  emulator: RunningEmulator | undefined;
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
 * The composition root: builds every dependency from the environment and starts listening.
 * With no STRIPE_SECRET_KEY (and not in production) it is the demo: the emulator in-process,
 * delivering signed webhooks to this server, and PGlite in DATA_DIR.
 */
export async function startServer(env: Env, options: ServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(env.LOG_LEVEL);
  const demo = !env.STRIPE_SECRET_KEY && env.NODE_ENV !== 'production';
  if (!env.STRIPE_SECRET_KEY && !demo) throw new ConfigError('Invalid configuration:\n  STRIPE_SECRET_KEY: is required');
  mkdirSync(env.DATA_DIR, { recursive: true });

  const priceMap = env.STRIPE_PRICE_MAP_JSON ? parsePriceMap(env.STRIPE_PRICE_MAP_JSON) : DEFAULT_PRICE_MAP;
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
    const { startEmulator } = await import('@miniapp-billing/stripe-emulator');
    emulator = await startEmulator({
      port: env.STRIPE_EMULATOR_PORT,
      host: '127.0.0.1',
      stateFile: path.join(env.DATA_DIR, 'stripe-emulator.json'),
    });
    apiBase = emulator.url;
  }

  const database =
    options.database ??
    (await createDatabase(
      env.DATABASE_URL ? { url: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE } : { dataDir: path.join(env.DATA_DIR, 'pglite') },
    ));
  let server: Server | undefined;
  try {
    await migrateToLatest(database.db, database.schema);
    const stripe = createStripeClient({
      secretKey: env.STRIPE_SECRET_KEY ?? 'sk_test_emulator',
      apiBase,
      timeoutMs: env.STRIPE_TIMEOUT_MS,
    });
    const metrics = createMetrics();
    instrumentStripe(stripe, metrics);

    const host = env.HOST;
    const handler = (config: BillingConfig, deps: ApiDeps) =>
      createHandler(deps, {
        metricsToken: env.METRICS_TOKEN,
        databaseSchema: database.schema,
        miniappDist: env.MINIAPP_DIST ?? DEFAULT_MINIAPP_DIST,
        publicConfig: {
          demo,
          app_url: config.appUrl,
          telegram_bot_username: env.TELEGRAM_BOT_USERNAME ?? null,
          telegram_app_name: env.TELEGRAM_APP_NAME ?? null,
        },
      });
    // The app URL may depend on the port we get; listen first, then finish the configuration.
    const config: BillingConfig = {
      priceMap,
      appUrl: env.APP_URL ?? '',
      allowedRedirectOrigins: env.ALLOWED_REDIRECT_ORIGINS,
      pastDueGraceSeconds: Math.round(env.PAST_DUE_GRACE_DAYS * 86_400),
      webhookSecrets,
      webhookToleranceSeconds: 300,
    };
    const plans = new PlanCatalog(stripe, priceMap);
    const billing: BillingDeps = {
      db: database.db,
      stripe,
      clock: systemClock,
      config,
      plans,
      observer: {
        webhook: ({ type, outcome, lagSeconds }) => {
          metrics.webhookEvents.inc({ type, outcome });
          if (outcome === 'processed') metrics.webhookLag.observe(lagSeconds);
        },
      },
    };
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
    };
    const listening = await new Promise<Server>((resolve, reject) => {
      const s = createServer(handler(config, deps));
      s.once('error', reject);
      s.listen(env.PORT, host, () => resolve(s));
    });
    server = listening;
    listening.keepAliveTimeout = 65_000;
    const port = (listening.address() as AddressInfo).port;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    if (!config.appUrl) config.appUrl = url;
    if (emulator) emulator.setWebhook({ url: `${url}/api/v1/billing/webhooks/stripe`, secret: webhookSecrets[0] as string });

    try {
      await plans.list();
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
      demo,
      close: () => {
        closing ??= (async () => {
          await new Promise<void>((resolve) => {
            listening.close(() => resolve());
            listening.closeIdleConnections();
            setTimeout(() => listening.closeAllConnections(), 2_000).unref();
          });
          await emulator?.close();
          if (!options.database) await database.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    server?.close();
    await emulator?.close();
    if (!options.database) await database.close();
    throw err;
  }
}
