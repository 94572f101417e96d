import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type Stripe from 'stripe';

/** One registry with every metric the service exports; labels are route templates, never raw URLs. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = {
    registry,
    checkoutStart: new Counter({
      name: 'miniapp_checkout_start_total',
      help: 'Checkout sessions started, by plan',
      labelNames: ['plan'],
      registers: [registry],
    }),
    starsInvoice: new Counter({
      name: 'miniapp_stars_invoice_total',
      help: 'Telegram Stars invoice links created, by plan',
      labelNames: ['plan'],
      registers: [registry],
    }),
    portalOpen: new Counter({ name: 'miniapp_portal_open_total', help: 'Customer Portal sessions opened', registers: [registry] }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route template or procedure path, and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    stripeCalls: new Counter({
      name: 'stripe_requests_total',
      help: 'Stripe API calls by operation and outcome',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    stripeDuration: new Histogram({
      name: 'stripe_request_duration_seconds',
      help: 'Stripe API call duration by operation',
      labelNames: ['operation'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    webhookEvents: new Counter({
      name: 'stripe_webhook_events_total',
      help: 'Stripe webhook events by type and outcome',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    }),
    stripeLimiterWait: new Histogram({
      name: 'stripe_limiter_wait_seconds',
      help: 'Time a Stripe call waited for the shared request budget, by priority (user or background)',
      labelNames: ['priority'],
      buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'miniapp_rate_limited_total',
      help: 'Billing actions refused by the per-person rate limit',
      registers: [registry],
    }),
    webhookLag: new Histogram({
      name: 'stripe_webhook_lag_seconds',
      help: 'Seconds between an event being created at Stripe and its processing here',
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 86_400],
      registers: [registry],
    }),
  };
  return metrics;
}

/**
 * The queue's state, read from PostgreSQL when scraped (every process reports the same shared
 * queue): waiting events, the oldest one's age, dead events, customers waiting for a run.
 */
export function observeQueue(
  metrics: Metrics,
  read: () => Promise<{ pending: number; oldestPendingSeconds: number; dead: number; jobs: number }>,
): void {
  let last: Promise<Awaited<ReturnType<typeof read>>> | undefined;
  let lastAt = 0;
  // One read serves the four gauges of one scrape.
  const stats = () => {
    if (!last || Date.now() - lastAt > 1000) {
      lastAt = Date.now();
      last = read().catch(() => ({ pending: Number.NaN, oldestPendingSeconds: Number.NaN, dead: Number.NaN, jobs: Number.NaN }));
    }
    return last;
  };
  const gauge = (name: string, help: string, pick: (s: Awaited<ReturnType<typeof read>>) => number) =>
    new Gauge({
      name,
      help,
      registers: [metrics.registry],
      async collect() {
        this.set(pick(await stats()));
      },
    });
  gauge('stripe_events_pending', 'Stored Stripe events waiting for a worker (pending or failed, to retry)', (s) => s.pending);
  gauge('stripe_events_oldest_pending_age_seconds', 'Age of the oldest waiting Stripe event', (s) => s.oldestPendingSeconds);
  gauge('stripe_events_dead', 'Stripe events parked as dead after every attempt failed (replay with pnpm billing:events)', (s) => s.dead);
  gauge('stripe_event_jobs', 'Customers with events waiting for a run', (s) => s.jobs);
}

export type Metrics = ReturnType<typeof createMetrics>;

/** `/v1/customers/cus_123/…` → `GET /v1/customers/{id}/…`: ids never become label values. */
export function stripeOperation(method: string, path: string): string {
  const template = path
    .split('?')[0]
    ?.split('/')
    .map((seg) => (/^[a-z]+_[A-Za-z0-9_]+$/.test(seg) && /[0-9]/.test(seg) ? '{id}' : seg))
    .join('/');
  return `${method.toUpperCase()} ${template}`;
}

/** Counts every Stripe call the SDK makes, through its own request/response events. */
export function instrumentStripe(stripe: Stripe, metrics: Metrics): void {
  stripe.on('response', (e: { method?: string; path?: string; status?: number; elapsed: number }) => {
    const operation = stripeOperation(e.method ?? 'GET', e.path ?? '');
    const status = e.status ?? 0;
    const outcome =
      status === 0 ? 'error' : status < 300 ? 'success' : status === 429 ? 'rate_limited' : status < 500 ? 'client_error' : 'server_error';
    metrics.stripeCalls.inc({ operation, outcome });
    metrics.stripeDuration.observe({ operation }, e.elapsed / 1000);
  });
}
