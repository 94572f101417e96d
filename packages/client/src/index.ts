import type { AppRouter } from '@miniapp-billing/api/router';
import { createTRPCClient, httpBatchLink, httpLink, splitLink, TRPCClientError } from '@trpc/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

// Types only from the API: `import type` is erased, so no server code reaches a bundle.
export type { AppRouter };
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type Plan = RouterOutputs['billing']['plans']['list'][number];
export type Subscription = RouterOutputs['billing']['subscription']['get'];
export type Invoice = RouterOutputs['billing']['invoices']['list'][number];
export type AuthResponse = RouterOutputs['auth']['telegram'];
export type Entitlements = RouterOutputs['billing']['entitlements']['get'];
export type PlanChangePreview = RouterOutputs['billing']['subscription']['preview'];

/** Whether a person's entitlements include a feature (an unknown feature is off). */
export const hasFeature = (e: Pick<Entitlements, 'features'>, feature: string): boolean => e.features[feature] === true;

/**
 * A person's limit on something: a number, `Infinity` when the plan sets no limit, 0 for a limit
 * the catalog does not know (fail closed).
 */
export function limit(e: Pick<Entitlements, 'limits'>, name: string): number {
  if (!(name in e.limits)) return 0;
  const value = e.limits[name];
  return value === null || value === undefined ? Number.POSITIVE_INFINITY : value;
}

export interface BillingClientOptions {
  /** The service's base URL, e.g. `https://billing.example.com` (tRPC lives at `/trpc`). */
  url: string;
  /** The current access token, if any; called before every request. */
  getToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /** A fetch implementation (defaults to the global one). */
  fetch?: typeof fetch;
  /** Extra headers for every request (e.g. an `Idempotency-Key` chosen per call by the caller). */
  headers?: () => Record<string, string> | Promise<Record<string, string>>;
}

/** Per-call context: `{ idempotencyKey }` sends that call alone, with an `Idempotency-Key` header. */
export interface BillingCallContext {
  idempotencyKey?: string;
}

const idempotencyKeyOf = (context: Record<string, unknown>) =>
  typeof context.idempotencyKey === 'string' && context.idempotencyKey ? context.idempotencyKey : undefined;

/**
 * The typed tRPC client for the billing service: `client.billing.subscription.get.query()`.
 * Calls are batched; a mutation given `context: { idempotencyKey }` goes alone with its own
 * `Idempotency-Key` header (a header belongs to one request, and a key to one intent):
 * `client.billing.checkout.create.mutate(input, { context: { idempotencyKey } })`.
 */
export function createBillingClient(options: BillingClientOptions) {
  const url = `${options.url.replace(/\/+$/, '')}/trpc`;
  const baseHeaders = async () => {
    const token = await options.getToken?.();
    return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(await options.headers?.()) };
  };
  const fetchOption = options.fetch ? { fetch: options.fetch } : {};
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'mutation' && idempotencyKeyOf(op.context) !== undefined,
        true: httpLink({
          url,
          ...fetchOption,
          headers: async ({ op }) => ({ ...(await baseHeaders()), 'idempotency-key': idempotencyKeyOf(op.context) as string }),
        }),
        false: httpBatchLink({ url, ...fetchOption, headers: baseHeaders }),
      }),
    ],
  });
}

export type BillingClient = ReturnType<typeof createBillingClient>;

/**
 * The codes a caller branches on. `code` is the transport code (UNAUTHORIZED, BAD_REQUEST,
 * CONFLICT, …); `reason` the domain reason when there is one (UNKNOWN_PLAN, SUBSCRIPTION_EXISTS,
 * INVALID_REDIRECT, STRIPE_UNAVAILABLE, VALIDATION_FAILED, …).
 */
export type BillingErrorReason =
  | 'UNKNOWN_PLAN'
  | 'INVALID_REDIRECT'
  | 'SUBSCRIPTION_EXISTS'
  | 'NO_SUBSCRIPTION'
  | 'SAME_PLAN'
  | 'IDEMPOTENCY_CONFLICT'
  | 'NOT_FOUND'
  | 'STRIPE_UNAVAILABLE'
  | 'STRIPE_RATE_LIMITED'
  | 'STRIPE_REQUEST_FAILED'
  | 'DATABASE_UNAVAILABLE'
  | 'CHECKOUT_IN_PROGRESS'
  | 'RATE_LIMITED'
  | 'VALIDATION_FAILED'
  | 'UNAUTHORIZED'
  | (string & {});

export interface BillingErrorInfo {
  code: string;
  reason: BillingErrorReason;
  httpStatus: number;
  message: string;
  requestId: string | undefined;
}

/** What went wrong, from any error a client call threw (network failures included). */
export function billingErrorOf(err: unknown): BillingErrorInfo {
  if (err instanceof TRPCClientError && err.data) {
    const data = (err.data ?? {}) as { code?: string; reason?: string; httpStatus?: number; request_id?: string };
    return {
      code: data.code ?? 'INTERNAL_SERVER_ERROR',
      reason: data.reason ?? data.code ?? 'UNKNOWN',
      httpStatus: data.httpStatus ?? 0,
      message: err.message,
      requestId: data.request_id,
    };
  }
  return {
    code: 'NETWORK_ERROR',
    reason: 'NETWORK_ERROR',
    httpStatus: 0,
    message: 'Could not reach the billing service',
    requestId: undefined,
  };
}

export const isUnauthorized = (err: unknown) => billingErrorOf(err).code === 'UNAUTHORIZED';
