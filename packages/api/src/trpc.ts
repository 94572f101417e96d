import { isUserId, takePoint } from '@miniapp-billing/billing-core';
import { initTRPC, TRPCError } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { ZodError } from 'zod';
import { bearerToken } from './auth/jwt.ts';
import type { Context } from './context.ts';
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

/** Every procedure: domain and infrastructure errors become transport errors in one place. */
const errorMapping = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && !(result.error.cause instanceof ZodError) && result.error.code === 'INTERNAL_SERVER_ERROR') {
    throw toTRPCError(result.error.cause ?? result.error);
  }
  return result;
});

export const publicProcedure = t.procedure.use(errorMapping);

/**
 * Verifies the bearer JWT (HS256; exp, iss, aud, sub required), loads the user and narrows
 * `ctx.user`; procedures never null-check it. Serves tRPC and REST alike.
 */
export const protectedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const token = bearerToken(ctx.authorization);
  const userId = token ? ctx.deps.tokens.verify(token) : null;
  if (!userId) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Missing or invalid access token' });
  // A database failure here is mapped like any other by errorMapping (503 when it is unavailable).
  const user = isUserId(userId) ? await ctx.deps.users.get(userId) : undefined;
  if (!user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Missing or invalid access token' });
  return next({ ctx: { ...ctx, user } });
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
