import { createHash, timingSafeEqual } from 'node:crypto';
import {
  applyStarsPayment,
  applyStarsRefund,
  type BillingDeps,
  checkPreCheckout,
  type Notice,
  type Plan,
  recordTelegramUpdate,
  type SendOutcome,
  telegramUpdateSeen,
} from '@miniapp-billing/billing-core';
import { Bot, GrammyError } from 'grammy';
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
  /** One billing notice as a message (with a button into the Mini App), and what came of it. */
  sendNotice(notice: Notice, appUrl: string, plans: Plan[] | null): Promise<SendOutcome>;
}

const escapeHtml = (s: string) => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] as string);

/** The words of each notice, and where its button leads in the Mini App. */
export function noticeMessage(notice: Pick<Notice, 'kind'>, planName: string, appUrl: string) {
  const app = appUrl.replace(/\/+$/, '');
  const plan = `<b>${escapeHtml(planName)}</b>`;
  switch (notice.kind) {
    case 'plan_activated':
      return { text: `✅ ${plan} is active. Thank you for subscribing!`, button: { text: 'Open billing', url: `${app}/billing` } };
    case 'payment_failed':
      return {
        text: `⚠️ Your payment for ${plan} did not go through. Update your payment method to keep access.`,
        button: { text: 'Fix payment', url: `${app}/billing?fix=payment` },
      };
    case 'plan_canceled':
      return {
        text: `Your ${plan} plan has ended. You can subscribe again at any time.`,
        button: { text: 'See plans', url: `${app}/billing` },
      };
    case 'renewal_reminder':
      return {
        text: `⏰ Your ${plan} plan renews in 3 days. Make sure you have enough Telegram Stars to keep it.`,
        button: { text: 'Open billing', url: `${app}/billing` },
      };
    case 'refunded':
      return {
        text: `↩️ Your payment for ${plan} was refunded, and the plan has ended.`,
        button: { text: 'Open billing', url: `${app}/billing` },
      };
  }
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
  options: { token: string; secret: string | undefined; apiRoot?: string | undefined },
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
  const expected = options.secret === undefined ? undefined : digest(options.secret);
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
    authentic: (header) => expected !== undefined && typeof header === 'string' && timingSafeEqual(digest(header), expected),
    async sendNotice(notice, appUrl, plans) {
      const planName = plans?.find((p) => p.plan_id === notice.planId)?.name ?? notice.planId ?? 'your plan';
      const { text, button } = noticeMessage(notice, planName, appUrl);
      try {
        await bot.api.sendMessage(notice.telegramId, text, {
          parse_mode: 'HTML',
          reply_markup: { inline_keyboard: [[{ text: button.text, web_app: { url: button.url } }]] },
        });
        return { kind: 'sent' };
      } catch (err) {
        if (err instanceof GrammyError) {
          if (err.error_code === 403) return { kind: 'blocked' };
          if (err.error_code === 429) return { kind: 'retry', afterSeconds: err.parameters.retry_after ?? 1, cause: 'telegram 429' };
          if (err.error_code >= 500) return { kind: 'retry', afterSeconds: 5, cause: `telegram ${err.error_code}` };
          return { kind: 'refused', cause: `telegram ${err.error_code}` };
        }
        return { kind: 'unknown', cause: (err as Error)?.name ?? 'unknown' };
      }
    },
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
