import { createHash, timingSafeEqual } from 'node:crypto';
import {
  applyStarsPayment,
  applyStarsRefund,
  type BillingDeps,
  checkPreCheckout,
  recordTelegramUpdate,
  telegramUpdateSeen,
} from '@miniapp-billing/billing-core';
import { Bot } from 'grammy';
import type { Update } from 'grammy/types';
import type { Logger } from '../logger.ts';

export interface BillingBot {
  /** The Bot API client (grammY's), for the Stars rail's calls. */
  api: Bot['api'];
  /** Whether a request's `X-Telegram-Bot-Api-Secret-Token` is ours (compared in constant time). */
  authentic(header: string | string[] | undefined): boolean;
  /** One update from the webhook: handled once (a replayed `update_id` changes nothing). */
  receive(update: Update): Promise<'handled' | 'duplicate'>;
  /** getMe, once: grammY needs to know who it is before it handles updates. */
  init(): Promise<void>;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The bot, on grammY: it answers `pre_checkout_query` itself (the plan exists, the price is
 * unchanged, the payload names the person paying, no live subscription on either rail), and
 * applies `successful_payment` (first or renewal) and `refunded_payment` to the Stars mirror.
 */
export function createBillingBot(
  billing: BillingDeps,
  logger: Logger,
  options: { token: string; secret: string; apiRoot?: string | undefined },
): BillingBot {
  const bot = new Bot(options.token, { client: { ...(options.apiRoot ? { apiRoot: options.apiRoot } : {}) } });
  bot.on('pre_checkout_query', async (ctx) => {
    const q = ctx.preCheckoutQuery;
    const answer = await checkPreCheckout(billing, q);
    await ctx.answerPreCheckoutQuery(answer.ok, answer.ok ? undefined : { error_message: answer.error_message });
  });
  bot.on('message:successful_payment', async (ctx) => {
    const outcome = await applyStarsPayment(billing, ctx.message.from, ctx.message.successful_payment);
    if (outcome === 'ignored') logger.warn({ update_id: ctx.update.update_id }, 'stars payment not ours; ignored');
  });
  bot.on('message:refunded_payment', async (ctx) => {
    await applyStarsRefund(billing, ctx.message.from, ctx.message.refunded_payment);
  });
  bot.catch((err) => {
    throw err.error;
  });
  const expected = digest(options.secret);
  let ready: Promise<void> | undefined;
  const init = () => {
    ready ??= bot.init().catch((err: unknown) => {
      ready = undefined;
      throw err;
    });
    return ready;
  };
  return {
    api: bot.api,
    authentic: (header) => typeof header === 'string' && timingSafeEqual(digest(header), expected),
    init,
    async receive(update) {
      if (await telegramUpdateSeen(billing.db, update.update_id)) return 'duplicate';
      await init();
      await bot.handleUpdate(update);
      // Recorded after it was handled: a failure is retried by Telegram; every effect is keyed by
      // its own id (charge ids), so a handled update delivered twice at once is still applied once.
      await recordTelegramUpdate(billing.db, update.update_id);
      return 'handled';
    },
  };
}
