import type Stripe from 'stripe';
import { PREPARED } from '../db/prepared.ts';
import type { BillingDeps } from '../deps.ts';
import { BillingError } from '../errors.ts';
import { hasLiveSubscription } from '../stars/stars.ts';
import { idOf } from '../stripe/ids.ts';
import { stripeCall } from '../stripe/stripe-errors.ts';
import { getSubscription, type SubscriptionView } from '../subscriptions/get-subscription.ts';
import { applyInvoice, applySubscription } from '../sync/apply.ts';
import type { User } from '../users/user.repository.ts';
import { findCheckoutSession, setCheckoutStatus } from './checkout.repository.ts';

/** What the first payment of a checkout was: for the success page, as a receipt would say it. */
export interface CheckoutReceipt {
  /** Minor units; 0 for a trial's first invoice. */
  amount_paid: number;
  currency: string;
  invoice_number: string | null;
  /** `visa`, `mastercard`, …; null when nothing was charged or Stripe did not say. */
  card_brand: string | null;
  card_last4: string | null;
  /** Stripe's receipt page for the charge. */
  receipt_url: string | null;
  hosted_invoice_url: string | null;
}

export interface ConfirmResult {
  message: string;
  checkout_status: 'complete' | 'open' | 'expired' | 'canceled';
  subscription: SubscriptionView;
  receipt: CheckoutReceipt | null;
}

const notFound = () => new BillingError('NOT_FOUND', 'Checkout session not found');

/**
 * The return from Checkout. Does not wait for the webhook: it reads the session and its subscription
 * from Stripe now and stores them, so the plan shows as active on the first call after payment.
 * Only the person's own session is accepted; any other id is answered as not found.
 */
export async function confirmCheckout(deps: BillingDeps, input: { user: User; sessionId: string }): Promise<ConfirmResult> {
  const local = await findCheckoutSession(deps.db, input.sessionId);
  if (!local || local.user_id !== input.user.id) throw notFound();
  const session = await stripeCall(() => deps.stripe.checkout.sessions.retrieve(input.sessionId, { expand: ['subscription'] }));
  if (session.client_reference_id !== input.user.id) throw notFound();
  const readAt = Date.now();
  const sub = session.subscription && typeof session.subscription === 'object' ? (session.subscription as Stripe.Subscription) : null;

  if (session.status === 'complete' && sub) {
    // Stripe first, then one short transaction: no connection waits on the network.
    const invoices = await stripeCall(() => deps.stripe.invoices.list({ subscription: sub.id, limit: 10 }));
    const invoicesReadAt = Date.now();
    await deps.db.transaction().execute(async (trx) => {
      await applySubscription(trx, deps, sub, input.user.id, readAt);
      for (const inv of invoices.data) await applyInvoice(trx, inv, input.user.id, invoicesReadAt);
      await setCheckoutStatus(trx, session.id, 'complete');
    });
    const first = invoices.data.find((i) => i.id === idOf(sub.latest_invoice)) ?? invoices.data.at(-1);
    const receipt = first ? await receiptOf(deps, first) : null;
    return { message: 'Plan activated', checkout_status: 'complete', subscription: await getSubscription(deps, input.user), receipt };
  }
  if (session.status === 'expired') {
    await setCheckoutStatus(deps.db, session.id, 'expired');
    return {
      message: 'This checkout has expired; start a new one',
      checkout_status: 'expired',
      subscription: await getSubscription(deps, input.user),
      receipt: null,
    };
  }
  return {
    message: 'Payment has not completed yet',
    checkout_status: local.status === 'canceled' ? 'canceled' : 'open',
    subscription: await getSubscription(deps, input.user),
    receipt: null,
  };
}

/**
 * The receipt of a checkout's first invoice: its amount, and for a charge the card and Stripe's
 * receipt page. One Stripe read (the customer's newest charge, taken only when it is this invoice's
 * amount), after the database work. The card is a nicety: when Stripe cannot say, the receipt still
 * shows the amount.
 */
async function receiptOf(deps: BillingDeps, invoice: Stripe.Invoice): Promise<CheckoutReceipt> {
  const receipt: CheckoutReceipt = {
    amount_paid: invoice.amount_paid,
    currency: invoice.currency,
    invoice_number: invoice.number ?? null,
    card_brand: null,
    card_last4: null,
    receipt_url: null,
    hosted_invoice_url: invoice.hosted_invoice_url ?? null,
  };
  const customer = idOf(invoice.customer);
  if (invoice.amount_paid === 0 || !customer) return receipt;
  try {
    const charge = (await deps.stripe.charges.list({ customer, limit: 1 })).data[0];
    if (!charge?.paid || charge.amount !== invoice.amount_paid || charge.currency !== invoice.currency) return receipt;
    const card = charge.payment_method_details?.card;
    return { ...receipt, card_brand: card?.brand ?? null, card_last4: card?.last4 ?? null, receipt_url: charge.receipt_url ?? null };
  } catch {
    return receipt;
  }
}

/** A Checkout the person started and has not finished: to resume (its page) or cancel. */
export interface PendingCheckout {
  session_id: string;
  plan_id: string;
  url: string;
  /** ISO 8601: Stripe expires the session then. */
  expires_at: string;
}

/**
 * The person's open Checkout, newest first, while it can still be paid: none once they have a live
 * subscription on either rail (it was paid, or another was; the rule checkout itself keeps). Our own
 * rows, no Stripe call: it rides in the page load's batch, where the usual answer (no open session)
 * costs one query.
 */
export async function pendingCheckout(deps: BillingDeps, user: User): Promise<PendingCheckout | null> {
  const row = await deps.db
    .selectFrom('checkout_sessions')
    .modifyFront(PREPARED)
    .select(['stripe_session_id', 'plan_id', 'url', 'expires_at'])
    .where('user_id', '=', user.id)
    .where('status', '=', 'open')
    .where('url', 'is not', null)
    .where('expires_at', '>', new Date(deps.clock.now().getTime() + 60_000))
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row || (await hasLiveSubscription(deps, user.id))) return null;
  return { session_id: row.stripe_session_id, plan_id: row.plan_id, url: row.url as string, expires_at: row.expires_at.toISOString() };
}

/** The person left Checkout without paying: recorded, and the session expired so it cannot be paid later by surprise. */
export async function cancelCheckout(
  deps: BillingDeps,
  input: { user: User; sessionId: string },
): Promise<{ message: string; checkout_status: 'canceled' | 'complete' }> {
  const local = await findCheckoutSession(deps.db, input.sessionId);
  if (!local || local.user_id !== input.user.id) throw notFound();
  if (local.status === 'complete') return { message: 'This checkout was already paid', checkout_status: 'complete' };
  if (local.status === 'open') {
    const session = await stripeCall(() => deps.stripe.checkout.sessions.expire(input.sessionId)).catch(() =>
      stripeCall(() => deps.stripe.checkout.sessions.retrieve(input.sessionId)),
    );
    if (session.status === 'complete') {
      await setCheckoutStatus(deps.db, input.sessionId, 'complete');
      return { message: 'This checkout was already paid', checkout_status: 'complete' };
    }
  }
  await setCheckoutStatus(deps.db, input.sessionId, 'canceled');
  return { message: 'Checkout canceled; you have not been charged', checkout_status: 'canceled' };
}
