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

/**
 * What a failure was, safe to log and to store: a BillingError's code, else the error's own code
 * (PostgreSQL's SQLSTATE such as `40P01`, Node's such as `ECONNRESET`), else its class name. Never
 * its message, which may carry a payload or a secret.
 */
export function causeOf(err: unknown): string {
  if (err instanceof BillingError) return err.code;
  if (!(err instanceof Error)) return 'UNKNOWN';
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,32}$/.test(code) ? code : err.name.slice(0, 64);
}
