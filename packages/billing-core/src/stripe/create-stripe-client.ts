import Stripe from 'stripe';
import { BudgetedHttpClient, type StripeBudget } from './stripe-budget.ts';

export interface StripeClientOptions {
  secretKey: string;
  /** Another Stripe-compatible base URL, e.g. `http://127.0.0.1:12111` for the emulator. */
  apiBase?: string | undefined;
  /** Per-request timeout: short enough for a person waiting (default 8 s). */
  timeoutMs?: number | undefined;
  /** Network retries (same idempotency key on every retry); default 2. */
  maxNetworkRetries?: number | undefined;
  /** The shared request budget every call waits its turn in (429s are then retried with backoff). */
  budget?: StripeBudget | undefined;
}

/** The one place the Stripe client is built: retries on, a bounded timeout, the budget, optionally another base URL. */
export function createStripeClient(options: StripeClientOptions): Stripe {
  const config: Stripe.StripeConfig = {
    timeout: options.timeoutMs ?? 8_000,
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
    appInfo: { name: 'miniapp-billing' },
    telemetry: false,
    ...(options.budget ? { httpClient: new BudgetedHttpClient(options.budget) } : {}),
  };
  if (options.apiBase) {
    const base = new URL(options.apiBase);
    config.host = base.hostname;
    config.protocol = base.protocol === 'http:' ? 'http' : 'https';
    config.port = Number(base.port || (base.protocol === 'http:' ? 80 : 443));
  }
  return new Stripe(options.secretKey, config);
}
