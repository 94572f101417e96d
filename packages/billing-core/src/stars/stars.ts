import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Executor } from '../db/executor.ts';
import type { BillingDeps } from '../deps.ts';
import { BillingError } from '../errors.ts';
import { notifyOnce } from '../notices/notice.repository.ts';
import { BLOCKING_STATUSES } from '../subscriptions/statuses.ts';
import { countUserSubscriptionsIn } from '../subscriptions/subscription.repository.ts';
import type { User } from '../users/user.repository.ts';

/** Telegram's one subscription period for Stars: 30 days. */
export const STARS_PERIOD_SECONDS = 2_592_000;

/**
 * The Bot API calls the Stars rail makes (grammY's `bot.api` has exactly these): billing-core names
 * what it needs and never depends on a bot library.
 */
export interface StarsBotApi {
  createInvoiceLink(
    title: string,
    description: string,
    payload: string,
    providerToken: string,
    currency: string,
    prices: Array<{ label: string; amount: number }>,
    other?: { subscription_period?: number },
  ): Promise<string>;
  editUserStarSubscription(userId: number, telegramPaymentChargeId: string, isCanceled: boolean): Promise<true>;
  refundStarPayment(userId: number, telegramPaymentChargeId: string): Promise<true>;
}

/** What a Stars invoice is for: `s1:<user id>:<plan id>:<nonce>` (≤ 128 bytes; never shown to the person). */
export interface StarsPayload {
  userId: string;
  planId: string;
}

const PAYLOAD = /^s1:([0-9a-f-]{36}):([a-z][a-z0-9_]{0,62}):([A-Za-z0-9_-]{8,16})$/;

export function starsPayload(userId: string, planId: string): string {
  return `s1:${userId}:${planId}:${randomBytes(8).toString('base64url')}`;
}

export function parseStarsPayload(payload: string): StarsPayload | undefined {
  const m = PAYLOAD.exec(payload);
  return m ? { userId: m[1] as string, planId: m[2] as string } : undefined;
}

/** The Stars price of a plan, per 30 days, or undefined when the plan is not sold in Stars. */
export function starsPrice(deps: Pick<BillingDeps, 'config'>, planId: string): number | undefined {
  return deps.config.starsRail ? deps.config.catalog.plans[planId]?.stars : undefined;
}

/** A live Stars subscription: paid up to a time still ahead, and not refunded. */
export async function liveStarSubscription(db: Executor, userId: string, now: Date) {
  return db
    .selectFrom('star_subscriptions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('expires_at', '>', now)
    .where('refunded_at', 'is', null)
    .orderBy('expires_at', 'desc')
    .executeTakeFirst();
}

/** One live subscription per person across both rails: Stripe's blocking statuses, or a live Stars one. */
export async function hasLiveSubscription(deps: Pick<BillingDeps, 'db' | 'clock'>, userId: string): Promise<boolean> {
  const [stripe, stars] = await Promise.all([
    countUserSubscriptionsIn(deps.db, userId, BLOCKING_STATUSES, 1),
    liveStarSubscription(deps.db, userId, deps.clock.now()),
  ]);
  return stripe > 0 || stars !== undefined;
}

/** A Bot API call: its failure is Telegram's (502 on the wire), never an internal error. */
async function telegramCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new BillingError('TELEGRAM_UNAVAILABLE', 'Telegram did not take the request; try again shortly', { cause: err });
  }
}

function botApi(deps: BillingDeps): StarsBotApi {
  if (!deps.telegram) throw new BillingError('CONFIGURATION', 'The Telegram Stars rail is not configured');
  return deps.telegram;
}

/**
 * A Stars invoice link for a plan, to open with `WebApp.openInvoice`: 30-day renewals in XTR. The
 * person must have signed in through Telegram (Stars are paid by a Telegram account) and have no
 * live subscription on either rail.
 */
export async function createStarsInvoice(
  deps: BillingDeps,
  input: { user: User; planId: string; planName: string },
): Promise<{ invoice_link: string; slug: string }> {
  const amount = starsPrice(deps, input.planId);
  if (amount === undefined) throw new BillingError('UNKNOWN_PLAN', `Plan ${input.planId.slice(0, 64)} is not sold in Telegram Stars`);
  if (input.user.telegramId === null)
    throw new BillingError('TELEGRAM_ACCOUNT_REQUIRED', 'Stars are paid from a Telegram account: open the app in Telegram');
  if (await hasLiveSubscription(deps, input.user.id))
    throw new BillingError('SUBSCRIPTION_EXISTS', 'You already have a live subscription; change or cancel it instead');
  const title = input.planName.slice(0, 32);
  const api = botApi(deps);
  const link = await telegramCall(() =>
    api.createInvoiceLink(
      title,
      `${title}, renewed every 30 days in Telegram Stars`,
      starsPayload(input.user.id, input.planId),
      '',
      'XTR',
      [{ label: title, amount }],
      { subscription_period: STARS_PERIOD_SECONDS },
    ),
  );
  return { invoice_link: link, slug: link.slice(link.lastIndexOf('$') + 1) };
}

/** The person behind a payment: the payload's user, when the Telegram account paying is theirs. */
async function payer(db: Executor, fromId: number, payloadText: string) {
  const payload = parseStarsPayload(payloadText);
  if (!payload) return undefined;
  const user = await db.selectFrom('users').select(['id', 'telegram_id']).where('id', '=', payload.userId).executeTakeFirst();
  return user && user.telegram_id !== null && Number(user.telegram_id) === fromId ? payload : undefined;
}

export interface PreCheckoutQuery {
  from: { id: number };
  currency: string;
  total_amount: number;
  invoice_payload: string;
}

/**
 * The answer to a pre-checkout query, given within Telegram's 10 s: the payload names a person of
 * ours who is the one paying, the plan is still sold at this price in Stars, and the person has no
 * live subscription on either rail. The error message is shown to the person by Telegram.
 */
export async function checkPreCheckout(
  deps: Pick<BillingDeps, 'db' | 'clock' | 'config'>,
  query: PreCheckoutQuery,
): Promise<{ ok: true } | { ok: false; error_message: string }> {
  if (!parseStarsPayload(query.invoice_payload))
    return { ok: false, error_message: 'This invoice is not ours; reopen the app and try again.' };
  const payload = await payer(deps.db, query.from.id, query.invoice_payload);
  if (!payload) return { ok: false, error_message: 'This invoice was made for another account.' };
  const price = starsPrice(deps, payload.planId);
  if (query.currency !== 'XTR' || price === undefined || price !== query.total_amount)
    return { ok: false, error_message: 'The price of this plan has changed; reopen the app to see the new one.' };
  if (await hasLiveSubscription(deps, payload.userId)) return { ok: false, error_message: 'You already have a live subscription.' };
  return { ok: true };
}

export interface SuccessfulStarsPayment {
  currency: string;
  total_amount: number;
  invoice_payload: string;
  telegram_payment_charge_id: string;
  subscription_expiration_date?: number;
  is_recurring?: boolean;
  is_first_recurring?: boolean;
}

export type StarsOutcome = 'applied' | 'duplicate' | 'ignored';

/**
 * A first payment or a renewal (keyed by Telegram's charge id, so a replay changes nothing): the
 * payment is recorded and the subscription's paid period extended to the expiration Telegram
 * gives, in one transaction; the first one leaves a "plan activated" notice.
 */
export async function applyStarsPayment(
  deps: Pick<BillingDeps, 'db' | 'clock'>,
  from: { id: number },
  payment: SuccessfulStarsPayment,
  /** When it was paid, if not now (a payment found by reconciliation). */
  paidAt?: Date,
): Promise<StarsOutcome> {
  if (payment.currency !== 'XTR' || !payment.subscription_expiration_date) return 'ignored';
  const payload = await payer(deps.db, from.id, payment.invoice_payload);
  if (!payload) return 'ignored';
  const now = paidAt ?? deps.clock.now();
  const expiresAt = new Date(payment.subscription_expiration_date * 1000);
  return deps.db.transaction().execute(async (trx) => {
    const recorded = await trx
      .insertInto('star_payments')
      .values({
        telegram_payment_charge_id: payment.telegram_payment_charge_id,
        user_id: payload.userId,
        payload: payment.invoice_payload,
        plan_id: payload.planId,
        amount: payment.total_amount,
        recurring: !payment.is_first_recurring,
        paid_at: now,
      })
      .onConflict((oc) => oc.column('telegram_payment_charge_id').doNothing())
      .returning('telegram_payment_charge_id')
      .executeTakeFirst();
    if (!recorded) return 'duplicate';
    await trx
      .insertInto('star_subscriptions')
      .values({
        payload: payment.invoice_payload,
        user_id: payload.userId,
        plan_id: payload.planId,
        amount: payment.total_amount,
        first_charge_id: payment.telegram_payment_charge_id,
        last_charge_id: payment.telegram_payment_charge_id,
        period_start: now,
        expires_at: expiresAt,
      })
      .onConflict((oc) =>
        oc.column('payload').doUpdateSet({
          last_charge_id: (eb) => eb.ref('excluded.last_charge_id'),
          period_start: (eb) => eb.ref('excluded.period_start'),
          expires_at: sql`greatest(star_subscriptions.expires_at, excluded.expires_at)`,
          lapse_seen_at: null,
          lapse_noticed: false,
          updated_at: sql`now()`,
        }),
      )
      .execute();
    if (payment.is_first_recurring) {
      await notifyOnce(trx, payload.userId, 'plan_activated', payment.invoice_payload, `stars:activated:${payment.invoice_payload}`);
    }
    return 'applied';
  });
}

/**
 * Stars given back (`refunded_payment`, whoever refunded): the payment is marked, and the
 * subscription it paid for ends now. The policy: money returned, access returned.
 */
export async function applyStarsRefund(
  deps: Pick<BillingDeps, 'db' | 'clock'>,
  from: { id: number },
  refund: { invoice_payload: string; telegram_payment_charge_id: string },
): Promise<StarsOutcome> {
  const payload = await payer(deps.db, from.id, refund.invoice_payload);
  if (!payload) return 'ignored';
  const now = deps.clock.now();
  return deps.db.transaction().execute(async (trx) => {
    const marked = await trx
      .updateTable('star_payments')
      .set({ refunded_at: now })
      .where('telegram_payment_charge_id', '=', refund.telegram_payment_charge_id)
      .where('refunded_at', 'is', null)
      .returning('payload')
      .executeTakeFirst();
    if (!marked) return 'duplicate';
    await trx
      .updateTable('star_subscriptions')
      .set({ refunded_at: now, updated_at: now })
      .where('payload', '=', marked.payload)
      .where('refunded_at', 'is', null)
      .execute();
    await notifyOnce(trx, payload.userId, 'refunded', marked.payload, `stars:refunded:${refund.telegram_payment_charge_id}`);
    return 'applied';
  });
}

/**
 * An operator's refund of a Stars payment (always in full): Telegram first, then the mirror, as the
 * `refunded_payment` update would (it may come too: applied once). A payment Telegram says is
 * refunded already is applied as such.
 */
export async function refundStarsPayment(
  deps: BillingDeps,
  user: User,
  payment: { telegram_payment_charge_id: string; payload: string },
): Promise<void> {
  const api = botApi(deps);
  const telegramId = user.telegramId;
  if (telegramId === null) throw new BillingError('TELEGRAM_ACCOUNT_REQUIRED', 'This person has no Telegram account to refund to');
  await telegramCall(() => api.refundStarPayment(telegramId, payment.telegram_payment_charge_id)).catch((err: BillingError) => {
    if (!/CHARGE_ALREADY_REFUNDED/.test(String(err.cause))) throw err;
  });
  await applyStarsRefund(
    deps,
    { id: telegramId },
    { invoice_payload: payment.payload, telegram_payment_charge_id: payment.telegram_payment_charge_id },
  );
}

/**
 * Cancel at period end (`is_canceled: true`) or undo it, for the person's live Stars subscription:
 * Telegram is told first (`editUserStarSubscription`), then the mirror. Access lasts to `expires_at`.
 */
export async function setStarsRenewal(deps: BillingDeps, user: User, cancel: boolean): Promise<boolean> {
  const live = await liveStarSubscription(deps.db, user.id, deps.clock.now());
  if (!live || user.telegramId === null) return false;
  const api = botApi(deps);
  const telegramId = user.telegramId;
  await telegramCall(() => api.editUserStarSubscription(telegramId, live.last_charge_id, cancel));
  await deps.db
    .updateTable('star_subscriptions')
    .set({ canceled: cancel, updated_at: deps.clock.now() })
    .where('payload', '=', live.payload)
    .execute();
  return true;
}

/** Whether the bot has already taken this update (Telegram redelivers until it gets a 2xx). */
export async function telegramUpdateSeen(db: Executor, updateId: number): Promise<boolean> {
  return (await db.selectFrom('telegram_updates').select('update_id').where('update_id', '=', updateId).executeTakeFirst()) !== undefined;
}

/** Marks an update taken, once it was handled: a replay of it then changes nothing. */
export async function recordTelegramUpdate(db: Executor, updateId: number): Promise<void> {
  await db
    .insertInto('telegram_updates')
    .values({ update_id: updateId })
    .onConflict((oc) => oc.column('update_id').doNothing())
    .execute();
}

/**
 * Stars subscriptions whose paid period is over end without a word from Telegram. Each pass marks
 * the ones newly seen over (`lapse_seen_at`, real time); once one has stayed over for `graceMs` (a
 * renewal may still be on its way: it clears the mark), a "plan ended" notice is written, once per
 * paid period. Returns how many notices were written.
 */
export async function noticeStarsLapses(deps: Pick<BillingDeps, 'db' | 'clock'>, graceMs: number): Promise<number> {
  const now = deps.clock.now();
  const real = new Date();
  await deps.db
    .updateTable('star_subscriptions')
    .set({ lapse_seen_at: real })
    .where('expires_at', '<=', now)
    .where('refunded_at', 'is', null)
    .where('lapse_seen_at', 'is', null)
    .execute();
  const over = await deps.db
    .selectFrom('star_subscriptions')
    .select(['payload', 'user_id', 'expires_at'])
    .where('expires_at', '<=', now)
    .where('refunded_at', 'is', null)
    .where('lapse_seen_at', '<=', new Date(real.getTime() - graceMs))
    .where('lapse_noticed', '=', false)
    .limit(100)
    .execute();
  let written = 0;
  for (const row of over) {
    await deps.db.transaction().execute(async (trx) => {
      await notifyOnce(trx, row.user_id, 'plan_canceled', row.payload, `stars:ended:${row.payload}:${row.expires_at.getTime()}`);
      await trx.updateTable('star_subscriptions').set({ lapse_noticed: true }).where('payload', '=', row.payload).execute();
    });
    written++;
  }
  return written;
}

/** A Star transaction as `getStarTransactions` lists it (the fields reconciliation reads). */
export interface StarTransaction {
  id: string;
  amount: number;
  date: number;
  source?: { type: string; user?: { id: number }; invoice_payload?: string; subscription_period?: number };
  receiver?: { type: string; user?: { id: number } };
}

export interface StarsReconcileReport {
  transactions: number;
  paymentsRepaired: number;
  refundsRepaired: number;
}

/**
 * Reads the bot's Star transactions (`getStarTransactions`, 100 at a time) and applies any payment
 * or refund the mirror missed (a webhook lost for good), as the update would have: each by its
 * charge id, so running it again changes nothing.
 */
export async function reconcileStars(
  deps: Pick<BillingDeps, 'db' | 'clock'>,
  api: { getStarTransactions(other?: { offset?: number; limit?: number }): Promise<{ transactions: StarTransaction[] }> },
): Promise<StarsReconcileReport> {
  const report: StarsReconcileReport = { transactions: 0, paymentsRepaired: 0, refundsRepaired: 0 };
  for (let offset = 0; ; offset += 100) {
    const { transactions } = await telegramCall(() => api.getStarTransactions({ offset, limit: 100 }));
    report.transactions += transactions.length;
    for (const t of transactions) {
      const known = await deps.db
        .selectFrom('star_payments')
        .select(['payload', 'refunded_at'])
        .where('telegram_payment_charge_id', '=', t.id)
        .executeTakeFirst();
      const payer = t.source?.type === 'user' ? t.source.user : undefined;
      if (payer && t.source?.invoice_payload && !known) {
        const first = !(await deps.db
          .selectFrom('star_subscriptions')
          .select('payload')
          .where('payload', '=', t.source.invoice_payload)
          .executeTakeFirst());
        const outcome = await applyStarsPayment(
          deps,
          payer,
          {
            currency: 'XTR',
            total_amount: t.amount,
            invoice_payload: t.source.invoice_payload,
            telegram_payment_charge_id: t.id,
            ...(t.source.subscription_period ? { subscription_expiration_date: t.date + t.source.subscription_period } : {}),
            is_recurring: true,
            ...(first ? { is_first_recurring: true } : {}),
          },
          new Date(t.date * 1000),
        );
        if (outcome === 'applied') report.paymentsRepaired += 1;
      }
      const refunded = t.receiver?.type === 'user' ? t.receiver.user : undefined;
      if (refunded && known && known.refunded_at === null) {
        const outcome = await applyStarsRefund(deps, refunded, { invoice_payload: known.payload, telegram_payment_charge_id: t.id });
        if (outcome === 'applied') report.refundsRepaired += 1;
      }
    }
    if (transactions.length < 100) return report;
  }
}

/** How long before a Stars renewal its reminder is written. */
export const STARS_REMINDER_SECONDS = 3 * 86_400;

/**
 * Three days before a Stars plan renews, a reminder to have the Stars: Telegram renews only when
 * the person has them, and the Bot API cannot tell a bot anyone's balance, so every renewing
 * (not cancelled, not refunded) subscription gets it, once per paid period.
 */
export async function noticeStarsRenewals(deps: Pick<BillingDeps, 'db' | 'clock'>): Promise<number> {
  const now = deps.clock.now();
  const due = await deps.db
    .selectFrom('star_subscriptions')
    .select(['payload', 'user_id', 'expires_at'])
    .where('expires_at', '>', now)
    .where('expires_at', '<=', new Date(now.getTime() + STARS_REMINDER_SECONDS * 1000))
    .where('canceled', '=', false)
    .where('refunded_at', 'is', null)
    .where((eb) => eb.or([eb('reminded_for', 'is', null), eb('reminded_for', '<', eb.ref('expires_at'))]))
    .limit(100)
    .execute();
  for (const row of due) {
    await deps.db.transaction().execute(async (trx) => {
      await notifyOnce(trx, row.user_id, 'renewal_reminder', row.payload, `stars:reminder:${row.payload}:${row.expires_at.getTime()}`);
      await trx.updateTable('star_subscriptions').set({ reminded_for: row.expires_at }).where('payload', '=', row.payload).execute();
    });
  }
  return due.length;
}
