import type Stripe from 'stripe';
import type { BillingConfig } from './config.ts';
import type { Db } from './db/database.ts';
import type { PlanCatalog } from './plans/plans.ts';
import type { StarsBotApi } from './stars/stars.ts';
import type { EventQueue } from './webhooks/event-queue.ts';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Hooks the adapters use for metrics and logs; billing-core stays free of any metrics or log library. */
export interface BillingObserver {
  /**
   * One event received (`queued`, `duplicate`, `ignored`) or applied by a worker (`processed`, `ignored`,
   * `failed`, `dead`). `type` is Stripe's, as signed: bound it (`eventTypeLabel`) before using it as a label.
   */
  webhook?(event: { type: string; outcome: WebhookOutcome; lagSeconds: number }): void;
  /** A worker's run over one customer's events failed; `dead` when the events were parked. */
  eventsFailed?(failure: EventFailure): void;
  /**
   * Received events were stored but their customers' jobs could not be added after the
   * acknowledgment; the runners' sweep adds them. `cause` is an error class name or code.
   */
  jobsDeferred?(failure: { customers: number; cause: string }): void;
}

export interface EventFailure {
  customerId: string;
  events: Array<{ id: string; type: string }>;
  attempt: number;
  dead: boolean;
  /** A domain code or error class name: safe to log. */
  cause: string;
  nextAttemptAt: Date | null;
}

export type WebhookOutcome = 'queued' | 'processed' | 'duplicate' | 'ignored' | 'failed' | 'dead';

/** Everything an operation needs, passed explicitly. */
export interface BillingDeps {
  db: Db;
  stripe: Stripe;
  clock: Clock;
  config: BillingConfig;
  plans: PlanCatalog;
  observer?: BillingObserver | undefined;
  /**
   * Where Stripe event runs wait: the database handle's `queue` (graphile-worker on PostgreSQL).
   * Absent: the table queue.
   */
  queue?: EventQueue | undefined;
  /** The bot's Bot API, for the Telegram Stars rail (absent: the rail is off). */
  telegram?: StarsBotApi | undefined;
}
