import { StripeApiError } from './errors.ts';

/**
 * Stripe's time and load: answers take 100–400 ms with a tail, the account is rate limited, and
 * webhooks arrive concurrently and out of order. Off by default so unit tests stay fast; the demo,
 * the browser tests and one suite of each package that talks to Stripe turn them on.
 */

/** Per-request latency: a log-normal draw with this median and 99th percentile. */
export interface LatencyOptions {
  medianMs: number;
  p99Ms: number;
}

/** Operations per second the account may make, reads (GET) and writes (POST, DELETE) counted apart. */
export interface RateLimitOptions {
  readsPerSecond: number;
  writesPerSecond: number;
}

/** Stripe's documented per-account limits: 25 operations/s in test mode (sandboxes), 100 in live mode. */
export const RATE_LIMIT_PRESETS: Record<'test' | 'live', RateLimitOptions> = {
  test: { readsPerSecond: 25, writesPerSecond: 25 },
  live: { readsPerSecond: 100, writesPerSecond: 100 },
};

export interface Realism {
  latency?: LatencyOptions | false;
  rateLimit?: RateLimitOptions | false;
  /** Webhook deliveries in flight at once per endpoint, and a random delay of up to `jitterMs` before each. */
  webhooks?: { concurrency: number; jitterMs: number };
}

/** What the demo and the Stripe-like suites run with. */
export const STRIPE_LIKE: Required<Realism> = {
  latency: { medianMs: 150, p99Ms: 600 },
  rateLimit: RATE_LIMIT_PRESETS.test,
  webhooks: { concurrency: 4, jitterMs: 250 },
};

export function drawLatencyMs(opts: LatencyOptions, random: () => number = Math.random): number {
  if (opts.medianMs <= 0) return 0;
  // Box–Muller: one standard normal draw; z(0.99) = 2.326.
  const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const sigma = Math.log(Math.max(opts.p99Ms, opts.medianMs) / opts.medianMs) / 2.326;
  return Math.min(opts.medianMs * Math.exp(sigma * z), opts.p99Ms * 4);
}

/** Token buckets refilled continuously, one for reads and one for writes. */
export class AccountRateLimiter {
  private readonly buckets = new Map<'read' | 'write', { tokens: number; at: number }>();

  constructor(
    private readonly limits: RateLimitOptions,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one operation; false when the account is over its limit (answer 429). */
  take(kind: 'read' | 'write'): boolean {
    const rate = kind === 'read' ? this.limits.readsPerSecond : this.limits.writesPerSecond;
    const t = this.now();
    const bucket = this.buckets.get(kind) ?? { tokens: rate, at: t };
    bucket.tokens = Math.min(rate, bucket.tokens + ((t - bucket.at) / 1000) * rate);
    bucket.at = t;
    this.buckets.set(kind, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

export const rateLimited = () =>
  new StripeApiError(
    429,
    'invalid_request_error',
    'Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.',
    { code: 'rate_limit' },
  );

/**
 * Reads the realism settings from the environment, over `defaults`:
 *   STRIPE_EMULATOR_LATENCY_MS          off | <median> | <median>/<p99>    e.g. 150/600
 *   STRIPE_EMULATOR_RATE_LIMIT          off | test | live | <ops per second>
 *   STRIPE_EMULATOR_WEBHOOK_CONCURRENCY deliveries in flight per endpoint (1 keeps order)
 *   STRIPE_EMULATOR_WEBHOOK_JITTER_MS   up to this random delay before each delivery
 * Throws an Error naming the variable when a value cannot be read.
 */
export function realismFromEnv(env: Record<string, string | undefined>, defaults: Realism = {}): Realism {
  const out: Realism = { ...defaults };
  const count = (name: string, min: number): number | undefined => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return undefined;
    if (!/^\d+$/.test(raw) || Number(raw) < min) throw new Error(`${name} must be a whole number ≥ ${min}, got "${raw}"`);
    return Number(raw);
  };
  const latency = env.STRIPE_EMULATOR_LATENCY_MS?.trim();
  if (latency) {
    const m = /^(\d+)(?:\/(\d+))?$/.exec(latency);
    if (latency === 'off' || latency === '0') out.latency = false;
    else if (m) {
      const median = Number(m[1]);
      const p99 = m[2] === undefined ? median * 4 : Number(m[2]);
      if (p99 < median) throw new Error(`STRIPE_EMULATOR_LATENCY_MS: the p99 (${p99}) must be at least the median (${median})`);
      out.latency = { medianMs: median, p99Ms: p99 };
    } else throw new Error(`STRIPE_EMULATOR_LATENCY_MS must be off, <median> or <median>/<p99> in ms, got "${latency}"`);
  }
  const limit = env.STRIPE_EMULATOR_RATE_LIMIT?.trim();
  if (limit) {
    if (limit === 'off') out.rateLimit = false;
    else if (limit === 'test' || limit === 'live') out.rateLimit = RATE_LIMIT_PRESETS[limit];
    else if (/^\d+$/.test(limit) && Number(limit) > 0) out.rateLimit = { readsPerSecond: Number(limit), writesPerSecond: Number(limit) };
    else throw new Error(`STRIPE_EMULATOR_RATE_LIMIT must be off, test, live or operations per second, got "${limit}"`);
  }
  const concurrency = count('STRIPE_EMULATOR_WEBHOOK_CONCURRENCY', 1);
  const jitter = count('STRIPE_EMULATOR_WEBHOOK_JITTER_MS', 0);
  if (concurrency !== undefined || jitter !== undefined) {
    out.webhooks = {
      concurrency: concurrency ?? out.webhooks?.concurrency ?? 1,
      jitterMs: jitter ?? out.webhooks?.jitterMs ?? 0,
    };
  }
  return out;
}
