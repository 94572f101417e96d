import type { BillingErrorCode } from '@miniapp-billing/billing-core';
import { BillingError, isDatabaseUnavailable } from '@miniapp-billing/billing-core';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { type TRPC_ERROR_CODE_KEY, TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { ZodError } from 'zod';

/** The one table from domain error codes to transport codes (and so HTTP statuses). */
const CODE_MAP: Record<BillingErrorCode, TRPC_ERROR_CODE_KEY> = {
  UNKNOWN_PLAN: 'BAD_REQUEST',
  PROMOTION_CODE_INVALID: 'UNPROCESSABLE_CONTENT',
  NOTHING_TO_REFUND: 'CONFLICT',
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
  TELEGRAM_ACCOUNT_REQUIRED: 'FORBIDDEN',
  TELEGRAM_UNAVAILABLE: 'BAD_GATEWAY',
};

/** Domain and infrastructure failures → TRPCError; anything unexpected stays internal (masked on the wire). */
export function toTRPCError(err: unknown): TRPCError {
  if (err instanceof TRPCError) {
    // What a procedure threw reaches us wrapped as an internal error: map what was inside it.
    const inner = err.code === 'INTERNAL_SERVER_ERROR' ? err.cause : undefined;
    return inner && !(inner instanceof TRPCError) && (inner instanceof BillingError || isDatabaseUnavailable(inner))
      ? toTRPCError(inner)
      : err;
  }
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

/** What the wire says about an error, whichever transport carries it. */
export interface WireError {
  status: number;
  /** The transport code (`UNPROCESSABLE_CONTENT`, `CONFLICT`, …). */
  code: string;
  /** The JSON-RPC number tRPC clients read. */
  rpcCode: number;
  /** Safe to show a person: never a message from inside. */
  message: string;
  /** The domain reason (`SUBSCRIPTION_EXISTS`), else the code. */
  reason: string;
  issues?: Array<{ path: string; message: string }>;
  /** For the log of a 5xx: what was behind it (a name and a code, never a message). */
  cause?: { name: string | undefined; code: unknown };
}

/**
 * The one place an error becomes what a client sees: REST bodies, tRPC error shapes (the
 * `errorFormatter` calls it too), the webhook route and the edge's own refusals all go through it.
 * Schema failures are 422 with the issues; anything unexpected is a masked 500.
 */
export function wireError(err: unknown): WireError {
  const error = toTRPCError(err);
  const rpcCode = TRPC_ERROR_CODES_BY_KEY[error.code];
  // Input that fails its schema (tRPC: BAD_REQUEST with the ZodError; an output that fails its own
  // schema is an internal error and stays one), or a body refused before parsing.
  if ((error.code === 'BAD_REQUEST' && error.cause instanceof ZodError) || error.code === 'UNPROCESSABLE_CONTENT') {
    const issues =
      error.cause instanceof ZodError ? error.cause.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) : undefined;
    return {
      status: 422,
      code: 'UNPROCESSABLE_CONTENT',
      rpcCode,
      message: issues ? 'Request failed validation' : error.message,
      // A domain refusal that is a 422 (PROMOTION_CODE_INVALID) keeps its own reason.
      reason: error.cause instanceof BillingError ? error.cause.code : 'VALIDATION_FAILED',
      ...(issues ? { issues } : {}),
    };
  }
  const reason = error.cause instanceof BillingError ? error.cause.code : error.code;
  const status = getHTTPStatusCodeFromError(error);
  if (error.code === 'INTERNAL_SERVER_ERROR') {
    const cause = error.cause as { name?: string; code?: unknown } | undefined;
    return { status, code: error.code, rpcCode, message: 'Internal server error', reason, cause: { name: cause?.name, code: cause?.code } };
  }
  return { status, code: error.code, rpcCode, message: error.message, reason };
}

/** The REST error body: `{ code, message, request_id, reason?, issues? }` (reason only when it says more than code). */
export function restErrorBody(e: WireError, requestId: string) {
  return {
    code: e.code,
    message: e.message,
    request_id: requestId,
    ...(e.reason !== e.code ? { reason: e.reason } : {}),
    ...(e.issues ? { issues: e.issues } : {}),
  };
}

/** The tRPC error shape: `{ message, code, data: { code, httpStatus, path, reason, request_id, issues? } }`. */
export function trpcErrorShape(e: WireError, requestId: string | undefined, path: string | undefined) {
  return {
    message: e.message,
    code: e.rpcCode,
    data: {
      code: e.code,
      httpStatus: e.status,
      path,
      reason: e.reason,
      request_id: requestId,
      ...(e.issues ? { issues: e.issues } : {}),
    },
  };
}
