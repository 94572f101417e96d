import type Stripe from 'stripe';
import type { Executor, Trx } from '../db/executor.ts';
import { PREPARED } from '../db/prepared.ts';
import type { PaymentChargeRow } from '../db/schema.ts';
import type { BillingDeps } from '../deps.ts';
import { BillingError } from '../errors.ts';
import { notifyOnce } from '../notices/notice.repository.ts';
import { refundStarsPayment } from '../stars/stars.ts';
import { idOf } from '../stripe/ids.ts';
import { stripeCall } from '../stripe/stripe-errors.ts';
import { getSubscription, type SubscriptionView } from '../subscriptions/get-subscription.ts';
import { isBlocking } from '../subscriptions/statuses.ts';
import { findSubscription } from '../subscriptions/subscription.repository.ts';
import { applySubscription } from '../sync/apply.ts';
import type { User } from '../users/user.repository.ts';

/**
 * Money coming back, and what it does to access. The written policy:
 *
 * - **A refund in full of the payment for the current period** (the subscription's newest paid
 *   invoice) ends access at once: the subscription is canceled now in Stripe, so nothing more is
 *   charged, and the person is told. A partial refund (a goodwill credit) leaves access as it is,
 *   and so does a refund of an older period's payment.
 * - **A dispute opened** keeps access and flags the person (`dispute_open` in their entitlements
 *   and in the operator's view) while the bank decides.
 * - **A dispute lost** ends access at once, as a full refund does (the money went back through the
 *   bank), and leaves the flag `dispute_lost`. A dispute won clears the flag.
 * - **Telegram Stars** come back only in full: a refunded Stars payment ends its subscription at
 *   once (`applyStarsRefund`).
 *
 * Whatever brought the money back (our refund route, Stripe's dashboard, the bank), the webhook
 * applies the same policy; each action is keyed by its payment, so it happens once.
 */

/** A card payment re-read from Stripe, with the invoice it paid and the dispute an event named. */
export interface ChargeRead {
  charge: Stripe.Charge;
  invoiceId: string | null;
  dispute?: Stripe.Dispute | undefined;
}

const OPEN_DISPUTE = new Set(['warning_needs_response', 'needs_response', 'under_review', 'warning_under_review']);

/** The invoice a payment paid (API versions since 2025 link them through invoice payments). */
export async function invoiceOfCharge(deps: Pick<BillingDeps, 'stripe'>, charge: Stripe.Charge): Promise<string | null> {
  const pi = idOf(charge.payment_intent);
  if (!pi) return null;
  const payments = await stripeCall(() =>
    deps.stripe.invoicePayments.list({ payment: { type: 'payment_intent', payment_intent: pi }, limit: 1 }),
  );
  return idOf(payments.data[0]?.invoice);
}

/** Mirrors one payment's refund and dispute state (read at `readAt` ms; an older read never wins). */
export async function applyCharge(trx: Trx, read: ChargeRead, userId: string, customerId: string, readAt: number): Promise<void> {
  const { charge, invoiceId, dispute } = read;
  const invoice = invoiceId
    ? await trx.selectFrom('invoices').select('stripe_subscription_id').where('stripe_invoice_id', '=', invoiceId).executeTakeFirst()
    : undefined;
  const values = {
    user_id: userId,
    stripe_customer_id: customerId,
    stripe_invoice_id: invoiceId,
    stripe_subscription_id: invoice?.stripe_subscription_id ?? null,
    amount: charge.amount,
    amount_refunded: charge.amount_refunded,
    currency: charge.currency,
    refunded: charge.refunded,
    stripe_created: charge.created,
    state_read_at: readAt,
    ...(dispute ? { stripe_dispute_id: dispute.id, dispute_status: dispute.status, dispute_reason: dispute.reason } : {}),
  };
  await trx
    .insertInto('payment_charges')
    .values({ stripe_charge_id: charge.id, ...values })
    .onConflict((oc) =>
      oc
        .column('stripe_charge_id')
        .doUpdateSet({ ...values, updated_at: new Date() })
        .where('payment_charges.state_read_at', '<=', readAt),
    )
    .execute();
}

/** Whether this payment paid the subscription's current period: its newest paid invoice in the mirror. */
async function paidCurrentPeriod(db: Executor, row: PaymentChargeRow): Promise<boolean> {
  if (!row.stripe_subscription_id || !row.stripe_invoice_id) return false;
  const newest = await db
    .selectFrom('invoices')
    .select('stripe_invoice_id')
    .where('stripe_subscription_id', '=', row.stripe_subscription_id)
    .where('amount_paid', '>', 0)
    .orderBy('stripe_created', 'desc')
    .limit(1)
    .executeTakeFirst();
  return newest?.stripe_invoice_id === row.stripe_invoice_id;
}

/** Why the policy ends access for this payment now, or null when it keeps it. */
async function endsAccess(db: Executor, row: PaymentChargeRow): Promise<'refunded' | 'dispute_lost' | null> {
  if (row.access_ended) return null;
  if (row.dispute_status === 'lost') return 'dispute_lost';
  if (row.refunded && (await paidCurrentPeriod(db, row))) return 'refunded';
  return null;
}

/**
 * Ends access for a payment that came back: the person's subscription (if still on) is canceled now
 * in Stripe — no transaction open, keyed by the payment so it happens once — then mirrored, and the
 * payment records why; a refund is told to the person.
 */
async function endAccess(
  deps: Pick<BillingDeps, 'db' | 'stripe' | 'plans'>,
  userId: string,
  chargeId: string,
  subscriptionId: string | null | undefined,
  why: 'refunded' | 'dispute_lost',
): Promise<void> {
  const local = subscriptionId ? await findSubscription(deps.db, subscriptionId) : undefined;
  let canceled: { sub: Stripe.Subscription; readAt: number } | undefined;
  if (local && local.user_id === userId && local.status !== 'canceled') {
    const sub = await stripeCall(() =>
      deps.stripe.subscriptions.cancel(
        local.stripe_subscription_id,
        { cancellation_details: { comment: why === 'refunded' ? 'payment refunded' : 'dispute lost' } },
        { idempotencyKey: `money-back:${chargeId}:${local.stripe_subscription_id}` },
      ),
    );
    canceled = { sub, readAt: Date.now() };
  }
  await deps.db.transaction().execute(async (trx) => {
    if (canceled) await applySubscription(trx, deps, canceled.sub, userId, canceled.readAt);
    await trx
      .updateTable('payment_charges')
      .set({ access_ended: why, updated_at: new Date() })
      .where('stripe_charge_id', '=', chargeId)
      .execute();
    if (why === 'refunded' && local) await notifyOnce(trx, userId, 'refunded', local.stripe_subscription_id, `refunded:${chargeId}`);
  });
}

/**
 * Applies the policy to the payments a run just mirrored: a subscription whose access ends is
 * canceled now in Stripe (no transaction open; keyed by the payment, so once), then mirrored, and
 * the payment records why. A lost dispute on a payment we cannot tie to a subscription ends the
 * person's live subscription with this customer.
 */
export async function enforceMoneyBackPolicy(
  deps: Pick<BillingDeps, 'db' | 'stripe' | 'plans'>,
  userId: string,
  customerId: string,
  chargeIds: string[],
): Promise<number> {
  if (chargeIds.length === 0) return 0;
  const rows = await deps.db.selectFrom('payment_charges').selectAll().where('stripe_charge_id', 'in', chargeIds).execute();
  let ended = 0;
  for (const row of rows) {
    if (row.user_id !== userId || row.stripe_customer_id !== customerId) continue;
    const why = await endsAccess(deps.db, row);
    if (!why) continue;
    const target =
      row.stripe_subscription_id ??
      (
        await deps.db
          .selectFrom('subscriptions')
          .select(['stripe_subscription_id', 'status'])
          .where('user_id', '=', userId)
          .where('stripe_customer_id', '=', customerId)
          .orderBy('stripe_created', 'desc')
          .execute()
      ).find((s) => isBlocking(s.status))?.stripe_subscription_id;
    await endAccess(deps, userId, row.stripe_charge_id, target, why);
    ended += 1;
  }
  return ended;
}

/** The flags money coming back left on a person: `dispute_open` while a bank decides, `dispute_lost` after. */
export type MoneyBackFlag = 'dispute_open' | 'dispute_lost';

export async function moneyBackFlags(db: Executor, userId: string): Promise<MoneyBackFlag[]> {
  const rows = await db
    .selectFrom('payment_charges')
    .modifyFront(PREPARED)
    .select('dispute_status')
    .where('user_id', '=', userId)
    .where('stripe_dispute_id', 'is not', null)
    .execute();
  const flags = new Set<MoneyBackFlag>();
  for (const r of rows) {
    if (r.dispute_status && OPEN_DISPUTE.has(r.dispute_status)) flags.add('dispute_open');
    if (r.dispute_status === 'lost') flags.add('dispute_lost');
  }
  return [...flags].sort();
}

export interface RefundResult {
  rail: 'stripe' | 'telegram_stars';
  /** The payment refunded: a Stripe charge, or a Telegram payment charge id. */
  payment_id: string;
  /** Minor units (Stars for the Stars rail). */
  amount: number;
  currency: string;
  /** Whether access ended (by the policy, or because `cancel` asked). */
  access_ended: boolean;
  subscription: SubscriptionView;
}

/**
 * An operator refunds a person's last payment (`POST /admin/users/{id}/refunds`). The card rail:
 * the newest paid invoice's payment, in full or `amount` of it, keyed by the invoice (a retried
 * request refunds once). A full refund ends access by the policy; `cancel` ends it after a partial
 * one too. The Stars rail: the newest Stars payment, in full (Telegram refunds only in full).
 * Nothing paid and not refunded → `NOTHING_TO_REFUND` (409).
 */
export async function refundLastPayment(
  deps: BillingDeps,
  user: User,
  options: { amount?: number | undefined; cancel?: boolean | undefined; requestedBy: string },
): Promise<RefundResult> {
  const [invoice, stars] = await Promise.all([
    deps.db
      .selectFrom('invoices')
      .selectAll()
      .where('user_id', '=', user.id)
      .where('amount_paid', '>', 0)
      .orderBy('stripe_created', 'desc')
      .limit(1)
      .executeTakeFirst(),
    deps.db
      .selectFrom('star_payments')
      .selectAll()
      .where('user_id', '=', user.id)
      .where('refunded_at', 'is', null)
      .orderBy('paid_at', 'desc')
      .limit(1)
      .executeTakeFirst(),
  ]);
  const starsNewer = stars && (!invoice || stars.paid_at.getTime() / 1000 > Number(invoice.stripe_created));
  if (starsNewer) {
    if (options.amount !== undefined)
      throw new BillingError('NOTHING_TO_REFUND', 'Telegram Stars payments are refunded in full only; leave out the amount');
    await refundStarsPayment(deps, user, stars);
    return {
      rail: 'telegram_stars',
      payment_id: stars.telegram_payment_charge_id,
      amount: stars.amount,
      currency: 'XTR',
      access_ended: true,
      subscription: await getSubscription(deps, user),
    };
  }
  if (!invoice) throw new BillingError('NOTHING_TO_REFUND', 'This person has no payment to refund');
  const payments = await stripeCall(() => deps.stripe.invoicePayments.list({ invoice: invoice.stripe_invoice_id, limit: 1 }));
  const pi = idOf(payments.data[0]?.payment?.payment_intent);
  if (!pi) throw new BillingError('NOTHING_TO_REFUND', 'The last invoice has no card payment to refund');
  let refund: Stripe.Refund;
  try {
    refund = await stripeCall(() =>
      deps.stripe.refunds.create(
        {
          payment_intent: pi,
          ...(options.amount !== undefined ? { amount: options.amount } : {}),
          reason: 'requested_by_customer',
          metadata: { user_id: user.id, requested_by: options.requestedBy.slice(0, 64) },
        },
        { idempotencyKey: `refund:${invoice.stripe_invoice_id}:${options.amount ?? 'full'}` },
      ),
    );
  } catch (err) {
    const cause = (err as BillingError).cause as { param?: string; message?: string } | undefined;
    if (cause?.param === 'amount')
      throw new BillingError('NOTHING_TO_REFUND', 'The amount is more than is left to refund of the last payment');
    if (/already been refunded|charged back/i.test(cause?.message ?? ''))
      throw new BillingError('NOTHING_TO_REFUND', 'The last payment was refunded or disputed already');
    throw err;
  }
  const chargeId = idOf(refund.charge);
  if (!chargeId) throw new BillingError('STRIPE_REQUEST_FAILED', 'The payment provider did not say which payment it refunded');
  // Apply at once what the webhook will apply again (idempotently): the payment, then the policy.
  const charge = await stripeCall(() => deps.stripe.charges.retrieve(chargeId));
  const readAt = Date.now();
  await deps.db
    .transaction()
    .execute((trx) => applyCharge(trx, { charge, invoiceId: invoice.stripe_invoice_id }, user.id, invoice.stripe_customer_id, readAt));
  let ended = await enforceMoneyBackPolicy(deps, user.id, invoice.stripe_customer_id, [chargeId]);
  if (!ended && options.cancel && invoice.stripe_subscription_id) {
    await endAccess(deps, user.id, chargeId, invoice.stripe_subscription_id, 'refunded');
    ended = 1;
  }
  return {
    rail: 'stripe',
    payment_id: chargeId,
    amount: refund.amount,
    currency: refund.currency,
    access_ended: ended > 0,
    subscription: await getSubscription(deps, user),
  };
}
