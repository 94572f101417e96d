import type { BillingErrorCode } from '@miniapp-billing/billing-core';
import { BillingError, isDatabaseUnavailable } from '@miniapp-billing/billing-core';
import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';

/** The one table from domain error codes to transport codes (and so HTTP statuses). */
const CODE_MAP: Record<BillingErrorCode, TRPC_ERROR_CODE_KEY> = {
  UNKNOWN_PLAN: 'BAD_REQUEST',
  INVALID_REDIRECT: 'BAD_REQUEST',
  SUBSCRIPTION_EXISTS: 'CONFLICT',
  NO_SUBSCRIPTION: 'NOT_FOUND',
  SAME_PLAN: 'CONFLICT',
  IDEMPOTENCY_CONFLICT: 'CONFLICT',
  CHECKOUT_IN_PROGRESS: 'CONFLICT',
  RATE_LIMITED: 'TOO_MANY_REQUESTS',
  NOT_FOUND: 'NOT_FOUND',
  USER_NOT_FOUND: 'UNAUTHORIZED',
  WEBHOOK_SIGNATURE_INVALID: 'BAD_REQUEST',
  WEBHOOK_PAYLOAD_INVALID: 'BAD_REQUEST',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  WEBHOOK_PROCESSING_FAILED: 'INTERNAL_SERVER_ERROR',
  STRIPE_UNAVAILABLE: 'BAD_GATEWAY',
  STRIPE_RATE_LIMITED: 'SERVICE_UNAVAILABLE',
  STRIPE_REQUEST_FAILED: 'BAD_GATEWAY',
  DATABASE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  CONFIGURATION: 'INTERNAL_SERVER_ERROR',
};

export const HTTP_STATUS: Partial<Record<TRPC_ERROR_CODE_KEY, number>> = {
  BAD_REQUEST: 400,
  PARSE_ERROR: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_SUPPORTED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE_CONTENT: 422,
  TOO_MANY_REQUESTS: 429,
  INTERNAL_SERVER_ERROR: 500,
  BAD_GATEWAY: 502,
  SERVICE_UNAVAILABLE: 503,
};

/** Domain and infrastructure failures → TRPCError; anything unexpected stays internal (masked later). */
export function toTRPCError(err: unknown): TRPCError {
  if (err instanceof TRPCError) return err;
  if (err instanceof BillingError) return new TRPCError({ code: CODE_MAP[err.code], message: err.message, cause: err });
  if (isDatabaseUnavailable(err)) {
    return new TRPCError({
      code: 'SERVICE_UNAVAILABLE',
      message: 'The service is temporarily unavailable; try again shortly',
      cause: new BillingError('DATABASE_UNAVAILABLE', 'database unavailable', { cause: err }),
    });
  }
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error', cause: err });
}

/** The machine-readable reason behind an error: the domain code when there is one. */
export function reasonOf(err: TRPCError): string {
  return err.cause instanceof BillingError ? err.cause.code : err.code;
}
