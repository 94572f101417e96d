import { createUser, type User, upsertTelegramUser } from '@miniapp-billing/billing-core';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { displayName, validateInitData } from '../../auth/telegram.ts';
import type { Context } from '../../context.ts';
import { publicProcedure, router } from '../../trpc.ts';

export const ZAuthUser = z.object({ id: z.string(), telegram_id: z.number().int().nullable(), name: z.string() });
export const ZAuthResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  user: ZAuthUser,
  start_param: z.string().nullable(),
});

const tags = ['auth'];

function tokenFor(ctx: Context, user: User, startParam: string | null) {
  return {
    ...ctx.deps.tokens.issue(user.id),
    user: { id: user.id, telegram_id: user.telegramId, name: user.name },
    start_param: startParam,
  };
}

export const authRouter = router({
  telegram: publicProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/auth/telegram',
        tags,
        summary: 'Exchange Telegram Mini App init data for an access token',
        protect: false,
      },
    })
    .input(z.strictObject({ init_data: z.string().min(1).max(8192) }))
    .output(ZAuthResponse)
    .mutation(async ({ ctx, input }) => {
      const botToken = ctx.deps.telegram.botToken;
      if (!botToken) throw new TRPCError({ code: 'NOT_FOUND', message: 'Telegram sign-in is not configured' });
      const result = validateInitData(input.init_data, botToken, ctx.deps.telegram.maxAgeSeconds);
      if (!result.ok) {
        const message = result.reason === 'expired' ? 'Telegram init data has expired; reopen the app' : 'Invalid Telegram init data';
        throw new TRPCError({ code: 'UNAUTHORIZED', message });
      }
      const user = await upsertTelegramUser(ctx.deps.billing.db, { telegramId: result.user.id, name: displayName(result.user) });
      return tokenFor(ctx, user, result.startParam);
    }),
  demo: publicProcedure
    .meta({ openapi: { method: 'POST', path: '/auth/demo', tags, summary: 'Demo mode only: sign in as a new demo user', protect: false } })
    .input(z.strictObject({}).optional())
    .output(ZAuthResponse)
    .mutation(async ({ ctx }) => {
      if (!ctx.deps.demo) throw new TRPCError({ code: 'NOT_FOUND', message: 'Not found' });
      const user = await createUser(ctx.deps.billing.db, { name: 'Demo user' });
      return tokenFor(ctx, user, null);
    }),
});
