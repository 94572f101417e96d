import { createHash, timingSafeEqual } from 'node:crypto';
import { isUserId, takePoint, type User } from '@miniapp-billing/billing-core';
import { initTRPC, TRPCError } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { bearerToken } from './auth/jwt.ts';
import type { Context, ServiceToken } from './context.ts';
import { toTRPCError, trpcErrorShape, wireError } from './errors.ts';

/** Our procedures' meta: the REST operation (trpc-to-openapi's), and 201 where it creates something. */
export type ApiMeta = OpenApiMeta & { status?: 201 };

/**
 * The only initTRPC. No data transformer: dates are ISO strings and money integer minor units, so
 * tRPC and REST return the same JSON. Errors are shaped by the one wire function, masked there.
 */
const t = initTRPC
  .context<Context>()
  .meta<ApiMeta>()
  .create({
    isDev: false,
    errorFormatter: ({ error, ctx, path }) => trpcErrorShape(wireError(error), ctx?.requestId, path),
  });

export const router = t.router;

export const publicProcedure = t.procedure;

/** Who the bearer token names: the JWT verified (HS256; exp, iss, aud, sub), then the user row. */
async function principalOf(ctx: Context): Promise<User | undefined> {
  const token = bearerToken(ctx.authorization);
  if (!token) return undefined;
  // A token the platform issued (by its issuer) is verified by the platform's rules, never ours.
  const platform = ctx.deps.platformTokens;
  const userId = platform?.claims(token) ? await platform.verify(token) : ctx.deps.tokens.verify(token);
  return isUserId(userId) ? ctx.deps.users.get(userId) : undefined;
}

/**
 * Signed-in procedures: `ctx.user` narrowed, never null-checked in a procedure. The token is read
 * once per request (a batch of calls shares the context, so it shares the answer). A database
 * failure here is a 503 like any other (the wire function maps it).
 */
export const protectedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  ctx.principal ??= principalOf(ctx);
  const user = await ctx.principal;
  if (!user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Missing or invalid access token' });
  return next({ ctx: { user } });
});

/**
 * Actions that call Stripe on a person's behalf (Checkout, portal, plan changes): at most
 * `BILLING_ACTIONS_PER_MINUTE` per person, counted in PostgreSQL so the limit holds across processes.
 * Over it → 429 `RATE_LIMITED`, before any Stripe call.
 */
export const billingActionProcedure = protectedProcedure.use(async ({ ctx, next }) => {
  try {
    await takePoint(ctx.deps.billingActions, ctx.user.id);
  } catch (err) {
    if ((err as { code?: string }).code === 'RATE_LIMITED') ctx.deps.metrics.rateLimited.inc();
    throw toTRPCError(err);
  }
  return next();
});

/** The service a bearer token belongs to: its SHA-256 compared in constant time with each configured one. */
function serviceOf(ctx: Context): ServiceToken | undefined {
  const token = /^Bearer (svc_[A-Za-z0-9_-]{16,256})$/.exec(ctx.authorization?.trim() ?? '')?.[1];
  if (!token) return undefined;
  const hash = createHash('sha256').update(token).digest();
  let found: ServiceToken | undefined;
  for (const candidate of ctx.deps.serviceTokens ?? []) if (timingSafeEqual(candidate.hash, hash)) found = candidate;
  return found;
}

/**
 * Calls from other services, with a token from `SERVICE_TOKENS` (a person's token is not one): 401
 * without a service token, 403 when its scope is short (`admin` includes `read`).
 */
export const serviceProcedure = (scope: 'read' | 'admin') =>
  publicProcedure.use(async ({ ctx, next }) => {
    const service = serviceOf(ctx);
    if (!service) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'A service token is required' });
    if (scope === 'admin' && service.scope !== 'admin') throw new TRPCError({ code: 'FORBIDDEN', message: 'This token may only read' });
    return next({ ctx: { service: service.name } });
  });
