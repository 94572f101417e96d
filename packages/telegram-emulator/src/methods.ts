import { z } from 'zod';
import { badRequest, TelegramError } from './errors.ts';
import { SUBSCRIPTION_PERIOD, type TelegramState } from './state.ts';

// The Bot API methods the emulator serves. Parameters arrive as JSON, as a form or in the query
// string (where numbers, booleans and objects are text): each schema reads both. Unknown
// parameters are ignored, as Telegram does; a value Telegram would refuse is refused.

/** A form or query value that holds JSON (an object, a list, a boolean) is read as JSON. */
const jsonText = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  }, schema);
const int = z.coerce.number().int();
const bool = jsonText(z.boolean());

const isLoopback = (url: URL) => ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
/** Telegram takes HTTPS only; plain HTTP is allowed to loopback so that tests and the demo can run. */
const httpsUrl = (what: string) =>
  z.string().refine((s) => {
    try {
      const url = new URL(s);
      return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url));
    } catch {
      return false;
    }
  }, `${what} must be an HTTPS URL`);

const button = z
  .object({
    text: z.string().min(1),
    url: z.string().optional(),
    callback_data: z.string().max(64).optional(),
    web_app: z.object({ url: httpsUrl('web_app.url') }).optional(),
  })
  .refine((b) => [b.url, b.callback_data, b.web_app].filter((x) => x !== undefined).length === 1, {
    message: 'a button needs exactly one of url, callback_data, web_app',
  });
const replyMarkup = jsonText(z.object({ inline_keyboard: z.array(z.array(button)) }));

const price = z.object({ label: z.string().min(1), amount: int.positive() });

export const METHODS = {
  getMe: {
    params: z.object({}),
    run: (s: TelegramState) => ({
      ...s.botUser,
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
    }),
  },
  setWebhook: {
    params: z.object({
      url: z.union([z.literal(''), httpsUrl('url')]),
      secret_token: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,256}$/, 'secret_token must be 1-256 characters A-Z, a-z, 0-9, _ and -')
        .optional(),
      drop_pending_updates: bool.optional(),
      max_connections: int.min(1).max(100).optional(),
    }),
    run: (s: TelegramState, p: { url: string; secret_token?: string; drop_pending_updates?: boolean }) => {
      s.delivery.setWebhook(p.url ? { url: p.url, secretToken: p.secret_token } : undefined, p.drop_pending_updates === true);
      return true;
    },
  },
  deleteWebhook: {
    params: z.object({ drop_pending_updates: bool.optional() }),
    run: (s: TelegramState, p: { drop_pending_updates?: boolean }) => {
      s.delivery.setWebhook(undefined, p.drop_pending_updates === true);
      return true;
    },
  },
  getWebhookInfo: {
    params: z.object({}),
    run: (s: TelegramState) => ({
      url: s.delivery.webhook?.url ?? '',
      has_custom_certificate: false,
      pending_update_count: s.delivery.pending,
      max_connections: 40,
      ...(s.delivery.lastError ? { last_error_date: s.delivery.lastError.date, last_error_message: s.delivery.lastError.message } : {}),
    }),
  },
  createInvoiceLink: {
    params: z.object({
      title: z.string().min(1).max(32),
      description: z.string().min(1).max(255),
      payload: z.string().refine((v) => Buffer.byteLength(v) >= 1 && Buffer.byteLength(v) <= 128, 'payload must be 1-128 bytes'),
      currency: z.string(),
      prices: jsonText(z.array(price).min(1)),
      provider_token: z.string().optional(),
      subscription_period: int.optional(),
    }),
    run: (
      s: TelegramState,
      p: {
        title: string;
        description: string;
        payload: string;
        currency: string;
        prices: Array<{ label: string; amount: number }>;
        provider_token?: string;
        subscription_period?: number;
      },
    ) => {
      // This emulator sells in Stars only; Telegram itself would take other currencies with a provider.
      if (p.currency !== 'XTR') throw badRequest('CURRENCY_INVALID: only XTR (Telegram Stars) is served');
      if (p.provider_token) throw badRequest('provider_token must be empty for payments in Telegram Stars');
      if (p.prices.length !== 1) throw badRequest('invoices in Telegram Stars must have exactly one price');
      if (p.subscription_period !== undefined && p.subscription_period !== SUBSCRIPTION_PERIOD)
        throw badRequest(`SUBSCRIPTION_PERIOD_INVALID: subscription_period must be ${SUBSCRIPTION_PERIOD}`);
      const slug = s.createInvoiceLink({
        title: p.title,
        description: p.description,
        payload: p.payload,
        currency: 'XTR',
        amount: (p.prices[0] as { amount: number }).amount,
        subscriptionPeriod: p.subscription_period,
      });
      return `https://t.me/$${slug}`;
    },
  },
  answerPreCheckoutQuery: {
    params: z.object({ pre_checkout_query_id: z.string().min(1), ok: bool, error_message: z.string().optional() }),
    run: (s: TelegramState, p: { pre_checkout_query_id: string; ok: boolean; error_message?: string }) => {
      s.answerPreCheckout(p.pre_checkout_query_id, { ok: p.ok, ...(p.error_message ? { error_message: p.error_message } : {}) });
      return true;
    },
  },
  sendMessage: {
    params: z.object({
      chat_id: int,
      text: z.string().min(1, 'message text is empty').max(4096, 'message is too long'),
      parse_mode: z.enum(['HTML', 'MarkdownV2', 'Markdown']).optional(),
      reply_markup: replyMarkup.optional(),
    }),
    run: (s: TelegramState, p: { chat_id: number; text: string; parse_mode?: string; reply_markup?: unknown }) =>
      s.sendMessage(p.chat_id, {
        text: p.text,
        ...(p.parse_mode ? { parse_mode: p.parse_mode } : {}),
        ...(p.reply_markup ? { reply_markup: p.reply_markup } : {}),
      }),
  },
  refundStarPayment: {
    params: z.object({ user_id: int, telegram_payment_charge_id: z.string().min(1) }),
    run: (s: TelegramState, p: { user_id: number; telegram_payment_charge_id: string }) => {
      s.refund(p.user_id, p.telegram_payment_charge_id);
      return true;
    },
  },
  editUserStarSubscription: {
    params: z.object({ user_id: int, telegram_payment_charge_id: z.string().min(1), is_canceled: bool }),
    run: (s: TelegramState, p: { user_id: number; telegram_payment_charge_id: string; is_canceled: boolean }) => {
      s.editSubscription(p.user_id, p.telegram_payment_charge_id, p.is_canceled);
      return true;
    },
  },
  getStarTransactions: {
    params: z.object({ offset: int.min(0).optional(), limit: int.min(1).max(100).optional() }),
    run: (s: TelegramState, p: { offset?: number; limit?: number }) => {
      // Chronological: each payment, and each refund as a transaction of its own.
      const all = [...s.payments.values()].flatMap((pay) => {
        const user = s.person(pay.userId).user;
        const incoming = {
          id: pay.chargeId,
          amount: pay.amount,
          date: pay.date,
          source: {
            type: 'user',
            user,
            invoice_payload: pay.payload,
            ...(pay.subscriptionPeriod ? { subscription_period: pay.subscriptionPeriod } : {}),
          },
        };
        return pay.refundedAt === undefined
          ? [incoming]
          : [incoming, { id: pay.chargeId, amount: pay.amount, date: pay.refundedAt, receiver: { type: 'user', user } }];
      });
      all.sort((a, b) => a.date - b.date);
      const offset = p.offset ?? 0;
      return { transactions: all.slice(offset, offset + (p.limit ?? 100)) };
    },
  },
} as const;

type MethodName = keyof typeof METHODS;
const BY_LOWER = new Map(Object.keys(METHODS).map((name) => [name.toLowerCase(), name as MethodName]));

/** Runs one Bot API call: its parameters checked, its answer or a TelegramError. */
export function callMethod(state: TelegramState, method: string, params: Record<string, unknown>): unknown {
  const name = BY_LOWER.get(method.toLowerCase());
  if (!name) throw new TelegramError(404, 'Not Found: method not found');
  const fault = state.takeFault(name);
  if (fault) throw fault;
  const def = METHODS[name];
  const parsed = def.params.safeParse(params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') ?? '';
    throw badRequest(issue?.code === 'invalid_type' && issue.input === undefined ? `${field} is required` : `${field}: ${issue?.message}`);
  }
  return (def.run as (s: TelegramState, p: unknown) => unknown)(state, parsed.data);
}
