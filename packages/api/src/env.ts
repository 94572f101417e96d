import { BillingError, type Catalog, DEFAULT_CATALOG, parseCatalog, sellsInStars } from '@miniapp-billing/billing-core';
import { z } from 'zod';
import { canShareListenPort } from './http/listen.ts';

/**
 * The one environment schema of the API deployable; nothing else reads `process.env`.
 * With NODE_ENV=production nothing is defaulted: a missing or weak setting stops start-up with a
 * message naming the variable.
 */
const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const port = z.coerce.number().int().min(0).max(65535);

export const ZEnv = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: port.default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  // Listening sockets sharing PORT (SO_REUSEPORT), so that a burst of new connections is accepted
  // several per event-loop turn: 32 by default where Node.js can (Linux, 22.12 and later), else 1.
  LISTEN_SOCKETS: z.coerce.number().int().min(1).max(64).optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  // The schema the tables live in (created if missing; default public).
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase PostgreSQL identifier')
    .optional(),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3_000),
  DATA_DIR: z.string().min(1).default('.data'),
  STRIPE_SECRET_KEY: z
    .string()
    .regex(/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/, 'must be a Stripe secret key (sk_test_… or sk_live_…)')
    .optional(),
  STRIPE_API_BASE: z.url({ protocol: /^https?$/ }).optional(),
  STRIPE_WEBHOOK_SECRET: z
    .string()
    .optional()
    .transform(list)
    .refine((s) => s.every((x) => /^whsec_[A-Za-z0-9_+/=]{8,}$/.test(x)), 'every secret must look like whsec_…'),
  // Stripe Tax on every Checkout: the customer's address is collected and tax added where due.
  STRIPE_AUTOMATIC_TAX: z.enum(['0', '1']).default('0'),
  STRIPE_EMULATOR_PORT: port.default(12111),
  // The demo's emulator answers like Stripe (150 ms median, test-mode rate limit, unordered webhooks);
  // see packages/stripe-emulator/src/realism.ts. `off` turns each off.
  STRIPE_EMULATOR_LATENCY_MS: z.string().optional(),
  STRIPE_EMULATOR_RATE_LIMIT: z.string().optional(),
  STRIPE_EMULATOR_WEBHOOK_CONCURRENCY: z.string().optional(),
  STRIPE_EMULATOR_WEBHOOK_JITTER_MS: z.string().optional(),
  STRIPE_TIMEOUT_MS: z.coerce.number().int().min(500).max(60_000).default(8_000),
  // Below Stripe's per-account limits (25/s in test mode, 100/s in live mode), shared by all processes.
  STRIPE_MAX_RPS: z.coerce.number().int().min(1).max(10_000).default(20),
  // In-process workers draining stored Stripe events: concurrent runs (0 = none: run `pnpm worker`).
  EVENT_WORKERS: z.coerce.number().int().min(0).max(64).default(4),
  EVENT_WORKER_LEASE_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  EVENT_WORKER_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  EVENT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
  // Per person: Checkout, portal and plan changes (together) per minute, across all processes.
  BILLING_ACTIONS_PER_MINUTE: z.coerce.number().int().min(1).max(10_000).default(20),
  // The most procedures one tRPC batch may carry.
  TRPC_MAX_BATCH: z.coerce.number().int().min(1).max(100).default(10),
  JWT_SECRET: z.string().optional(),
  JWT_ISSUER: z.string().min(1).default('miniapp-billing'),
  JWT_AUDIENCE: z.string().min(1).default('miniapp-billing'),
  JWT_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(30 * 86_400)
    .default(3600),
  // The platform's own tokens, accepted beside ours: its issuer and audience, and either its HS256
  // secret or its JWKS (RS256/ES256). Claims that carry a person's Telegram id and email, if any.
  PLATFORM_JWT_ISSUER: z.string().min(1).optional(),
  PLATFORM_JWT_AUDIENCE: z.string().min(1).optional(),
  PLATFORM_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  PLATFORM_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  PLATFORM_JWT_MAX_LIFETIME_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(30 * 86_400)
    .default(86_400),
  PLATFORM_JWT_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(300).default(60),
  PLATFORM_JWKS_COOLDOWN_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  PLATFORM_CLAIM_TELEGRAM_ID: z.string().min(1).optional(),
  PLATFORM_CLAIM_EMAIL: z.string().min(1).optional(),
  TELEGRAM_BOT_TOKEN: z
    .string()
    .regex(/^\d+:[A-Za-z0-9_-]{20,}$/, 'must look like 123456:ABC… (from @BotFather)')
    .optional(),
  TELEGRAM_AUTH_MAX_AGE_SECONDS: z.coerce.number().int().min(60).default(86_400),
  TELEGRAM_BOT_USERNAME: z
    .string()
    .regex(/^[A-Za-z0-9_]{3,64}$/)
    .optional(),
  TELEGRAM_APP_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,64}$/)
    .optional(),
  // The time zone the Stripe account shows dates in (its invoices, receipts and portal): the Mini
  // App writes dates in it, so a renewal date here is the one Stripe shows. An IANA name; UTC.
  STRIPE_ACCOUNT_TIME_ZONE: z
    .string()
    .max(64)
    .default('UTC')
    .refine((zone) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    }, 'must be an IANA time zone such as UTC or Europe/Berlin'),
  // The one catalog: every plan on sale with its Stripe price, Stars price (per 30 days), trial,
  // features and limits, and `free`: {"free":{"features":{…},"limits":{…}},"premium_monthly":{"price":"price_…",…}}.
  PLAN_CATALOG_JSON: z.string().optional(),
  // Other services' tokens, kept hashed: name:scope:sha256-hex of the token, comma-separated
  // (scope read, or admin which includes read). `pnpm service-token <name> <scope>` makes one.
  SERVICE_TOKENS: z
    .string()
    .optional()
    .transform(list)
    .refine(
      (l) => l.every((t) => /^[a-z][a-z0-9_-]{0,62}:(read|admin):[0-9a-f]{64}$/.test(t)),
      'each must be name:read|admin:<sha256 hex of the token>',
    ),
  TELEGRAM_WEBHOOK_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{32,256}$/, 'must be 32-256 characters A-Z, a-z, 0-9, _ and -')
    .optional(),
  TELEGRAM_API_ROOT: z.url({ protocol: /^https?$/ }).optional(),
  TELEGRAM_EMULATOR_PORT: port.default(12112),
  // Billing notices through the bot (plan activated, payment failed, plan ended, refund): on in the
  // demo, off elsewhere unless 1 (a bot token alone never makes this service message anyone).
  BOT_NOTICES: z.enum(['0', '1']).optional(),
  // Which rails the Mini App offers inside Telegram (outside Telegram it is always Stripe).
  RAILS: z
    .string()
    .default('stars,stripe')
    .transform(list)
    .refine((r) => r.length > 0 && r.every((x) => x === 'stars' || x === 'stripe'), 'must list stars and/or stripe'),
  // How long a Stars plan stays past its paid period, with no renewal, before "plan ended" is sent
  // (a renewal may still be on its way). 600 s; the demo's 2 s.
  STARS_LAPSE_GRACE_SECONDS: z.coerce.number().int().min(0).max(86_400).optional(),
  APP_URL: z.url({ protocol: /^https?$/ }).optional(),
  ALLOWED_REDIRECT_ORIGINS: z
    .string()
    .optional()
    .transform(list)
    .refine((s) => s.every((o) => URL.canParse(o)), 'must be comma-separated origins like https://app.example.com'),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  // The OpenAPI page at /api/v1/docs: on outside production, off in production unless API_DOCS=1.
  API_DOCS: z.enum(['0', '1']).optional(),
  PAST_DUE_GRACE_DAYS: z.coerce.number().min(0).max(60).default(3),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MINIAPP_DIST: z.string().optional(),
});

/** The parsed environment, with the settings that need more than a schema finished here too. */
export type Env = Omit<z.infer<typeof ZEnv>, 'LISTEN_SOCKETS'> & {
  /** The plans on sale and `free`, from `PLAN_CATALOG_JSON` (the demo's catalog when unset). */
  catalog: Catalog;
  LISTEN_SOCKETS: number;
};

/** Settings folded into `PLAN_CATALOG_JSON`: refused by name, so an old deployment learns where they went. */
const RETIRED = {
  STRIPE_PRICE_MAP_JSON: 'is replaced by PLAN_CATALOG_JSON (each plan\'s "price")',
  STARS_PRICE_MAP_JSON: 'is replaced by PLAN_CATALOG_JSON (each plan\'s "stars")',
} as const;

const isLive = (key: string | undefined) => !!key && /^(sk|rk)_live_/.test(key);

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment; throws a ConfigError naming every offending variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = ZEnv.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || '(environment)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const retired = Object.entries(RETIRED).filter(([name]) => cleaned[name] !== undefined);
  if (retired.length) throw new ConfigError(`Invalid configuration:\n  ${retired.map(([n, why]) => `${n}: ${why}`).join('\n  ')}`);
  let catalog = DEFAULT_CATALOG;
  try {
    if (parsed.data.PLAN_CATALOG_JSON) catalog = parseCatalog(parsed.data.PLAN_CATALOG_JSON);
  } catch (err) {
    throw new ConfigError(`Invalid configuration:\n  ${err instanceof BillingError ? err.message : 'PLAN_CATALOG_JSON is invalid'}`);
  }
  const sharePort = canShareListenPort();
  if ((parsed.data.LISTEN_SOCKETS ?? 1) > 1 && !sharePort)
    throw new ConfigError(
      `Invalid configuration:\n  LISTEN_SOCKETS: more than 1 needs SO_REUSEPORT (Linux, Node.js 22.12 or later; this is ${process.platform}, Node.js ${process.versions.node})`,
    );
  const env: Env = { ...parsed.data, catalog, LISTEN_SOCKETS: parsed.data.LISTEN_SOCKETS ?? (sharePort ? 32 : 1) };
  // The platform's tokens: one way to check them (a secret or a JWKS, never both), its own issuer.
  if (env.PLATFORM_JWT_SECRET || env.PLATFORM_JWKS_URL) {
    const problems: string[] = [];
    if (env.PLATFORM_JWT_SECRET && env.PLATFORM_JWKS_URL)
      problems.push('PLATFORM_JWKS_URL: set PLATFORM_JWT_SECRET (HS256) or PLATFORM_JWKS_URL (RS256/ES256), not both');
    if (!env.PLATFORM_JWT_ISSUER) problems.push('PLATFORM_JWT_ISSUER: is required with platform tokens');
    else if (env.PLATFORM_JWT_ISSUER === env.JWT_ISSUER) problems.push('PLATFORM_JWT_ISSUER: must differ from JWT_ISSUER');
    if (!env.PLATFORM_JWT_AUDIENCE) problems.push('PLATFORM_JWT_AUDIENCE: is required with platform tokens');
    if (problems.length) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  // A live key is production whatever NODE_ENV says: refuse to start it without the production checks.
  if (source.NODE_ENV === undefined && isLive(env.STRIPE_SECRET_KEY))
    throw new ConfigError('Invalid configuration:\n  NODE_ENV: must be set to production when STRIPE_SECRET_KEY is a live key');
  if (env.NODE_ENV === 'production') {
    const problems: string[] = [];
    const need = (name: keyof Env, ok: boolean, why = 'is required in production') => {
      if (!ok) problems.push(`${name}: ${why}`);
    };
    need('DATABASE_URL', !!env.DATABASE_URL);
    need('STRIPE_SECRET_KEY', !!env.STRIPE_SECRET_KEY);
    if (env.STRIPE_SECRET_KEY)
      need('STRIPE_SECRET_KEY', isLive(env.STRIPE_SECRET_KEY), 'must be a live key (sk_live_… or rk_live_…) in production');
    if (env.STRIPE_API_BASE) need('STRIPE_API_BASE', env.STRIPE_API_BASE.startsWith('https://'), 'must be an https:// URL in production');
    need('STRIPE_WEBHOOK_SECRET', env.STRIPE_WEBHOOK_SECRET.length > 0);
    need('PLAN_CATALOG_JSON', !!env.PLAN_CATALOG_JSON);
    need('JWT_SECRET', !!env.JWT_SECRET);
    if (env.JWT_SECRET) {
      need('JWT_SECRET', Buffer.byteLength(env.JWT_SECRET) >= 32, 'must be at least 32 bytes');
      need('JWT_SECRET', new Set(env.JWT_SECRET).size >= 12, 'is too repetitive to be a secret (use 32 random bytes)');
    }
    need('TELEGRAM_BOT_TOKEN', !!env.TELEGRAM_BOT_TOKEN);
    need('TELEGRAM_AUTH_MAX_AGE_SECONDS', env.TELEGRAM_AUTH_MAX_AGE_SECONDS <= 7 * 86_400, 'must be at most 604800 (7 days) in production');
    // The Stars rail is on when priced: then the bot's webhook must be authenticated.
    if (env.PLAN_CATALOG_JSON && sellsInStars(env.catalog))
      need('TELEGRAM_WEBHOOK_SECRET', !!env.TELEGRAM_WEBHOOK_SECRET, 'is required when PLAN_CATALOG_JSON sells in Stars');
    if (env.TELEGRAM_API_ROOT)
      need('TELEGRAM_API_ROOT', env.TELEGRAM_API_ROOT.startsWith('https://'), 'must be an https:// URL in production');
    if (env.PLATFORM_JWKS_URL)
      need('PLATFORM_JWKS_URL', env.PLATFORM_JWKS_URL.startsWith('https://'), 'must be an https:// URL in production');
    need('APP_URL', !!env.APP_URL);
    if (env.APP_URL)
      need('APP_URL', env.APP_URL.startsWith('https://'), 'must be an https:// URL in production (Telegram opens only https Mini Apps)');
    need('METRICS_TOKEN', !!env.METRICS_TOKEN, 'is required in production (/metrics is refused without it)');
    if (problems.length) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  } else if (env.JWT_SECRET && Buffer.byteLength(env.JWT_SECRET) < 32) {
    throw new ConfigError('Invalid configuration:\n  JWT_SECRET: must be at least 32 bytes');
  }
  return env;
}

/** For process entry points: the parsed environment, or the problems printed and exit code 1. */
export function parseEnvOrExit(source: Record<string, string | undefined>): Env {
  try {
    return parseEnv(source);
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : 'Invalid configuration');
    process.exit(1);
  }
}
