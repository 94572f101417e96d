import type Stripe from 'stripe';
import type { BillingDeps } from '../deps.ts';
import { BillingError } from '../errors.ts';
import { stripeCall } from '../stripe/stripe-errors.ts';
import { getSubscription, type SubscriptionView } from '../subscriptions/get-subscription.ts';
import { applyInvoice, applySubscription } from '../sync/apply.ts';
import type { User } from '../users/user.repository.ts';
import { findCheckoutSession, setCheckoutStatus } from './checkout.repository.ts';

export interface ConfirmResult {
  message: string;
  checkout_status: 'complete' | 'open' | 'expired' | 'canceled';
  subscription: SubscriptionView;
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
    return { message: 'Plan activated', checkout_status: 'complete', subscription: await getSubscription(deps, input.user) };
  }
  if (session.status === 'expired') {
    await setCheckoutStatus(deps.db, session.id, 'expired');
    return {
      message: 'This checkout has expired; start a new one',
      checkout_status: 'expired',
      subscription: await getSubscription(deps, input.user),
    };
  }
  return {
    message: 'Payment has not completed yet',
    checkout_status: local.status === 'canceled' ? 'canceled' : 'open',
    subscription: await getSubscription(deps, input.user),
  };
}

/** The person left Checkout without paying: recorded, and the session expired so it cannot be paid later by surprise. */
export async function cancelCheckout(deps: BillingDeps, input: { user: User; sessionId: string }): Promise<{ message: string }> {
  const local = await findCheckoutSession(deps.db, input.sessionId);
  if (!local || local.user_id !== input.user.id) throw notFound();
  if (local.status === 'complete') return { message: 'This checkout was already paid' };
  if (local.status === 'open') {
    const session = await stripeCall(() => deps.stripe.checkout.sessions.expire(input.sessionId)).catch(() =>
      stripeCall(() => deps.stripe.checkout.sessions.retrieve(input.sessionId)),
    );
    if (session.status === 'complete') {
      await setCheckoutStatus(deps.db, input.sessionId, 'complete');
      return { message: 'This checkout was already paid' };
    }
  }
  await setCheckoutStatus(deps.db, input.sessionId, 'canceled');
  return { message: 'Checkout canceled; you have not been charged' };
}
