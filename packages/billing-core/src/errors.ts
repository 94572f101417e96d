/**
 * Domain errors of billing-core. Adapters (tRPC, REST) map `code` to a transport status through one
 * table; `message` is safe to show a person and never carries a Stripe message, a stack or a secret.
 */
export type BillingErrorCode =
  | 'UNKNOWN_PLAN'
  | 'PROMOTION_CODE_INVALID'
  | 'NOTHING_TO_REFUND'
  | 'INVALID_REDIRECT'
  | 'SUBSCRIPTION_EXISTS'
  | 'NO_SUBSCRIPTION'
  | 'SAME_PLAN'
  | 'IDEMPOTENCY_CONFLICT'
  | 'CHECKOUT_IN_PROGRESS'
  | 'RATE_LIMITED'
  | 'NOT_FOUND'
  | 'USER_NOT_FOUND'
  | 'WEBHOOK_SIGNATURE_INVALID'
  | 'WEBHOOK_PAYLOAD_INVALID'
  | 'PAYLOAD_TOO_LARGE'
  | 'WEBHOOK_PROCESSING_FAILED'
  | 'STRIPE_UNAVAILABLE'
  | 'STRIPE_RATE_LIMITED'
  | 'STRIPE_REQUEST_FAILED'
  | 'DATABASE_UNAVAILABLE'
  | 'CONFIGURATION'
  | 'TELEGRAM_ACCOUNT_REQUIRED'
  | 'TELEGRAM_UNAVAILABLE';

export class BillingError extends Error {
  override readonly name = 'BillingError';
  constructor(
    readonly code: BillingErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
