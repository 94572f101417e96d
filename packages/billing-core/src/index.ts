/**
 * billing-core: plans, the billing operations, the Stripe sync and persistence. No HTTP, no tRPC:
 * every operation takes its dependencies (db, stripe, clock, config, plans) as arguments.
 */
export {
  type CheckoutReceipt,
  type ConfirmResult,
  cancelCheckout,
  confirmCheckout,
  type PendingCheckout,
  pendingCheckout,
} from './checkout/confirm-checkout.ts';
export { type CheckoutResult, type CreateCheckoutInput, createCheckout } from './checkout/create-checkout.ts';
export type { BillingConfig } from './config.ts';
export { findCustomerIdByUser } from './customers/customer.repository.ts';
export { ensureCustomer } from './customers/ensure-customer.ts';
export { isUserId } from './customers/resolve-owner.ts';
export { createDatabase, type DatabaseHandle, type DatabaseOptions, type Db } from './db/database.ts';
export { isDatabaseUnavailable } from './db/database-errors.ts';
export { migrateDatabase, migrateToLatest, migrationsApplied } from './db/migrate.ts';
export type { Database } from './db/schema.ts';
export { type BillingDeps, type BillingObserver, type Clock, type EventFailure, systemClock, type WebhookOutcome } from './deps.ts';
export { type Entitlements, entitlementsOf } from './entitlements/entitlements.ts';
export { BillingError, type BillingErrorCode } from './errors.ts';
export { type InvoiceBadge, type InvoiceView, invoiceBadge, listInvoices, MAX_INVOICE_PAGE } from './invoices/list-invoices.ts';
export { createRateLimiter, type LimitOptions, takePoint } from './limits/rate-limiter.ts';
export { type MoneyBackFlag, type RefundResult, refundLastPayment } from './money-back/money-back.ts';
export { type Notice, type NoticeSender, type SendOutcome, startNoticeSender } from './notices/notice-sender.ts';
export { type BillingState, billingState, findUserForOperator } from './operator/billing-state.ts';
export {
  type Catalog,
  type CatalogPlan,
  DEFAULT_CATALOG,
  type PlanEntitlements,
  parseCatalog,
  priceMapOf,
  sellsInStars,
} from './plans/catalog.ts';
export { type Plan, PlanCatalog } from './plans/plans.ts';
export { createPortal } from './portal/create-portal.ts';
export { returnFromPortal } from './portal/portal-return.ts';
export { type ReconcileReport, reconcile } from './reconcile/reconcile.ts';
export { checkRedirect, normaliseOrigins } from './redirects/redirect-policy.ts';
export {
  applyStarsPayment,
  applyStarsRefund,
  checkPreCheckout,
  createStarsInvoice,
  hasLiveSubscription,
  noticeStarsLapses,
  noticeStarsRenewals,
  parseStarsPayload,
  reconcileStars,
  recordTelegramUpdate,
  STARS_PERIOD_SECONDS,
  type StarsBotApi,
  type StarsOutcome,
  type StarsReconcileReport,
  type StarTransaction,
  starsPrice,
  telegramUpdateSeen,
} from './stars/stars.ts';
export { createStripeClient, type StripeClientOptions } from './stripe/create-stripe-client.ts';
export { inBackground, StripeBudget, type StripePriority } from './stripe/stripe-budget.ts';
export { toBillingError } from './stripe/stripe-errors.ts';
export { accessOf, FREE_VIEW, getSubscription, type SubscriptionStatus, type SubscriptionView } from './subscriptions/get-subscription.ts';
export { cancelAtPeriodEnd, changePlan, type PlanChangePreview, previewPlanChange, resume } from './subscriptions/manage-subscription.ts';
export { type SyncCounts, syncCustomer } from './sync/sync.ts';
export { createUser, findUserById, type User, upsertPlatformUser, upsertTelegramUser } from './users/user.repository.ts';
export {
  findEvent,
  listEvents,
  queueStats,
  replayEvents,
} from './webhooks/event.repository.ts';
export { type EventQueue, TABLE_QUEUE } from './webhooks/event-queue.ts';
export { runStripeEventJobs, startStripeEventWorker } from './webhooks/event-workers.ts';
export { QueueProblem } from './webhooks/graphile-logger.ts';
export {
  eventTypeLabel,
  HANDLED_EVENT_TYPES,
  receiptsSettled,
  receiveStripeWebhook,
  type WebhookReceipt,
} from './webhooks/receive-stripe-webhook.ts';
export {
  drainTableQueue,
  type StripeEventWorker,
  type StripeEventWorkerOptions,
} from './webhooks/stripe-event-worker.ts';
export { MAX_WEBHOOK_BYTES, verifyStripeEvent } from './webhooks/verify-stripe-event.ts';
