import type Stripe from 'stripe';
import type { BillingConfig } from './config.ts';
import type { Db } from './db/database.ts';
import type { PlanCatalog } from './plans/plans.ts';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Hooks the adapters use for metrics; billing-core stays free of any metrics library. */
export interface BillingObserver {
  webhook?(event: { type: string; outcome: WebhookOutcome; lagSeconds: number }): void;
}

export type WebhookOutcome = 'processed' | 'duplicate' | 'ignored' | 'failed';

/** Everything an operation needs, passed explicitly. */
export interface BillingDeps {
  db: Db;
  stripe: Stripe;
  clock: Clock;
  config: BillingConfig;
  plans: PlanCatalog;
  observer?: BillingObserver | undefined;
}
