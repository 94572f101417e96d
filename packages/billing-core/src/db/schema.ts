import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** `bigint` columns come back as strings from `pg` and as numbers from PGlite: read them with Number(). */
type Int8 = ColumnType<string | number, number, number>;
type CreatedAt = ColumnType<Date, Date | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | undefined, Date>;

export interface UserTable {
  id: string;
  telegram_id: Int8 | null;
  email: string | null;
  name: string;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  /** When the person blocked the bot (a 403 on sendMessage): no notices until they sign in through Telegram again. */
  telegram_blocked_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** The platform token's `sub`, for a person who arrived with the platform's own token. */
  platform_subject: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface StripeCustomerTable {
  user_id: string;
  stripe_customer_id: string;
  created_at: CreatedAt;
}

export interface SubscriptionTable {
  stripe_subscription_id: string;
  user_id: string;
  stripe_customer_id: string;
  stripe_item_id: string | null;
  plan_id: string | null;
  price_id: string;
  amount: number;
  currency: string;
  interval: string;
  status: string;
  current_period_start: Date | null;
  current_period_end: Date | null;
  cancel_at_period_end: boolean;
  cancel_at: Date | null;
  canceled_at: Date | null;
  ended_at: Date | null;
  stripe_created: Int8;
  /** When the applied state was read from Stripe (ms): an older read never overwrites a newer one. */
  state_read_at: Int8;
  updated_at: UpdatedAt;
}

export interface InvoiceTable {
  stripe_invoice_id: string;
  user_id: string;
  stripe_customer_id: string;
  stripe_subscription_id: string | null;
  number: string | null;
  stripe_status: string;
  amount_due: number;
  amount_paid: number;
  amount_remaining: number;
  currency: string;
  description: string | null;
  billing_reason: string | null;
  attempt_count: number;
  due_date: Int8 | null;
  period_start: Int8 | null;
  period_end: Int8 | null;
  hosted_invoice_url: string | null;
  invoice_pdf: string | null;
  /** The price of its largest line: what it was mostly for. */
  price_id: ColumnType<string | null, string | null | undefined, string | null>;
  stripe_created: Int8;
  state_read_at: Int8;
  updated_at: UpdatedAt;
}

/** A card payment that was refunded or disputed, as Stripe last said, and what the access policy did. */
export interface PaymentChargeTable {
  stripe_charge_id: string;
  user_id: string;
  stripe_customer_id: string;
  stripe_invoice_id: string | null;
  stripe_subscription_id: string | null;
  amount: number;
  amount_refunded: number;
  currency: string;
  /** Refunded in full. */
  refunded: boolean;
  stripe_dispute_id: string | null;
  dispute_status: string | null;
  dispute_reason: string | null;
  /** Why the policy ended access (`refunded`, `dispute_lost`), or null when it kept it. */
  access_ended: string | null;
  stripe_created: Int8;
  state_read_at: Int8;
  updated_at: UpdatedAt;
}

/** What an event's payload said, kept for the worker: the object is re-read, this is only the record. */
export interface EventSummary {
  status?: string | undefined;
  attempt_count?: number | undefined;
  subscription?: string | undefined;
}

/**
 * The ledger of received events: `pending` until a worker applies it (`processed`, `ignored`),
 * `failed` while it waits for another attempt, `dead` when it gave up (visible, replayable).
 */
export type StripeEventStatus = 'pending' | 'processed' | 'ignored' | 'failed' | 'dead';

export interface StripeEventTable {
  event_id: string;
  type: string;
  stripe_created: Int8;
  stripe_customer_id: string | null;
  object_type: string | null;
  object_id: string | null;
  summary: ColumnType<EventSummary | null, string | null, string | null>;
  status: StripeEventStatus;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date | null;
  received_at: CreatedAt;
  processed_at: Date | null;
}

/** One row per customer with events waiting: the unit a worker claims (by lease) and drains. */
export interface StripeCustomerJobTable {
  stripe_customer_id: string;
  run_at: ColumnType<Date, Date | undefined, Date>;
  locked_until: Date | null;
  locked_by: string | null;
  attempts: ColumnType<number, number | undefined, number>;
  /** Bumped by every new event: a run that started before it does not delete the job. */
  version: ColumnType<string | number, number | undefined, number>;
  last_error: string | null;
  created_at: CreatedAt;
}

/** The graphile-worker workers alive right now, each seen at most a few seconds ago. */
export interface EventQueueWorkerTable {
  worker_id: string;
  seen_at: ColumnType<Date, Date | undefined, Date>;
}

/** The one Checkout Session being created for a person right now. */
export interface CheckoutCreationTable {
  user_id: string;
  request_hash: string;
  attempt_key: string;
  started_at: ColumnType<Date, Date | undefined, Date>;
}

export interface CheckoutSessionTable {
  stripe_session_id: string;
  user_id: string;
  plan_id: string;
  price_id: string;
  status: 'open' | 'complete' | 'canceled' | 'expired';
  url: string | null;
  success_url: string;
  cancel_url: string;
  idempotency_key: string | null;
  request_hash: string | null;
  expires_at: Date;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** One row per real plan transition a person should hear about (the outbox of side effects). */
export interface BillingNotificationTable {
  id: Generated<number>;
  user_id: string;
  kind: 'plan_activated' | 'plan_canceled' | 'payment_failed' | 'refunded' | 'renewal_reminder';
  /** The subscription it is about: a Stripe subscription id, or a Stars subscription's payload. */
  stripe_subscription_id: string;
  dedupe_key: string;
  created_at: CreatedAt;
  status: ColumnType<NoticeStatus, NoticeStatus | undefined, NoticeStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: ColumnType<Date, Date | undefined, Date>;
  locked_until: Date | null;
  sent_at: Date | null;
  last_error: string | null;
}

export type NoticeStatus = 'pending' | 'sending' | 'sent' | 'skipped' | 'failed' | 'unconfirmed';

export interface StarSubscriptionTable {
  payload: string;
  user_id: string;
  plan_id: string;
  amount: number;
  first_charge_id: string;
  last_charge_id: string;
  period_start: Date;
  expires_at: Date;
  canceled: ColumnType<boolean, boolean | undefined, boolean>;
  refunded_at: Date | null;
  lapse_seen_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  lapse_noticed: ColumnType<boolean, boolean | undefined, boolean>;
  reminded_for: ColumnType<Date | null, Date | null | undefined, Date | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface StarPaymentTable {
  telegram_payment_charge_id: string;
  user_id: string;
  payload: string;
  plan_id: string;
  amount: number;
  recurring: boolean;
  paid_at: Date;
  refunded_at: Date | null;
}

export interface TelegramUpdateTable {
  update_id: Int8;
  received_at: CreatedAt;
}

export interface Database {
  users: UserTable;
  stripe_customers: StripeCustomerTable;
  subscriptions: SubscriptionTable;
  invoices: InvoiceTable;
  stripe_events: StripeEventTable;
  stripe_customer_jobs: StripeCustomerJobTable;
  event_queue_workers: EventQueueWorkerTable;
  checkout_creations: CheckoutCreationTable;
  checkout_sessions: CheckoutSessionTable;
  billing_notifications: BillingNotificationTable;
  star_subscriptions: StarSubscriptionTable;
  star_payments: StarPaymentTable;
  telegram_updates: TelegramUpdateTable;
  payment_charges: PaymentChargeTable;
}

export type UserRow = Selectable<UserTable>;
export type NewUser = Insertable<UserTable>;
export type UserUpdate = Updateable<UserTable>;
export type SubscriptionRow = Selectable<SubscriptionTable>;
export type NewSubscription = Insertable<SubscriptionTable>;
export type InvoiceRow = Selectable<InvoiceTable>;
export type NewInvoice = Insertable<InvoiceTable>;
export type CheckoutSessionRow = Selectable<CheckoutSessionTable>;
export type StripeEventRow = Selectable<StripeEventTable>;
export type PaymentChargeRow = Selectable<PaymentChargeTable>;
