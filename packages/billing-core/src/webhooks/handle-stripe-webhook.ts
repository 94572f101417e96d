import Stripe from 'stripe';
import { findCheckoutSession, setCheckoutStatus } from '../checkout/checkout.repository.ts';
import type { BillingDeps, WebhookOutcome } from '../deps.ts';
import { BillingError } from '../errors.ts';
import { isStripeNotFound, stripeCall } from '../stripe/stripe-errors.ts';
import {
  applySubscription,
  cancelDuplicateSubscriptions,
  emptyCounts,
  lockCustomer,
  notifyOnce,
  resolveUser,
  syncInvoice,
  syncSubscription,
  type Trx,
} from '../sync/sync.ts';
import { claimEvent, recordEventFailure } from './event.repository.ts';

/** Stripe's own limit for an event body is far below this; anything larger is refused unread. */
export const MAX_WEBHOOK_BYTES = 1024 * 1024;

export interface WebhookResult {
  outcome: Exclude<WebhookOutcome, 'failed'>;
  eventId: string;
  type: string;
  lagSeconds: number;
}

const verifier = new Stripe('sk_webhook_verification_only');

/**
 * Verifies the `Stripe-Signature` header against every configured secret (rotation) with the SDK's
 * own check (HMAC-SHA256, constant-time compare, timestamp tolerance) and returns the parsed event.
 */
export function verifyStripeEvent(
  rawBody: Buffer | string,
  signature: unknown,
  secrets: string[],
  toleranceSeconds: number,
  now: () => number = Date.now,
): Stripe.Event {
  const size = typeof rawBody === 'string' ? Buffer.byteLength(rawBody) : rawBody.length;
  if (size > MAX_WEBHOOK_BYTES) throw new BillingError('PAYLOAD_TOO_LARGE', 'Webhook payload too large');
  if (typeof signature !== 'string' || signature.length === 0 || signature.length > 4096) {
    throw new BillingError('WEBHOOK_SIGNATURE_INVALID', 'Missing or malformed Stripe-Signature header');
  }
  // Stripe's check refuses old timestamps only; a timestamp from the future is refused here too.
  const t = /(?:^|,)\s*t=(\d{1,12})(?:,|$)/.exec(signature);
  if (t && Number(t[1]) > now() / 1000 + toleranceSeconds) {
    throw new BillingError('WEBHOOK_SIGNATURE_INVALID', 'Webhook signature timestamp is in the future');
  }
  for (const secret of secrets) {
    let event: Stripe.Event;
    try {
      event = verifier.webhooks.constructEvent(rawBody, signature, secret, toleranceSeconds);
    } catch (err) {
      if (err instanceof Stripe.errors.StripeSignatureVerificationError) continue;
      // The signature matched but the body is not JSON.
      throw new BillingError('WEBHOOK_PAYLOAD_INVALID', 'Webhook payload is not a valid event');
    }
    if (!isEventShape(event)) throw new BillingError('WEBHOOK_PAYLOAD_INVALID', 'Webhook payload is not a valid event');
    return event;
  }
  throw new BillingError('WEBHOOK_SIGNATURE_INVALID', 'Webhook signature verification failed');
}

function isEventShape(e: unknown): e is Stripe.Event {
  if (typeof e !== 'object' || e === null) return false;
  const ev = e as Record<string, unknown>;
  const data = ev.data as Record<string, unknown> | undefined;
  return (
    typeof ev.id === 'string' &&
    /^evt_[A-Za-z0-9_]{1,255}$/.test(ev.id) &&
    typeof ev.type === 'string' &&
    ev.type.length < 200 &&
    typeof ev.created === 'number' &&
    Number.isFinite(ev.created) &&
    typeof data === 'object' &&
    data !== null &&
    typeof data.object === 'object' &&
    data.object !== null &&
    !Array.isArray(data.object)
  );
}

const HANDLED = new Set([
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.expired',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.paused',
  'customer.subscription.resumed',
  'customer.subscription.trial_will_end',
  'invoice.created',
  'invoice.finalized',
  'invoice.updated',
  'invoice.paid',
  'invoice.payment_succeeded',
  'invoice.payment_failed',
  'invoice.payment_action_required',
  'invoice.voided',
  'invoice.marked_uncollectible',
]);

const idOf = (v: unknown): string | null =>
  typeof v === 'string'
    ? v
    : typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'string'
      ? (v as { id: string }).id
      : null;

function customerOf(event: Stripe.Event): string | null {
  const obj = event.data.object as unknown as Record<string, unknown>;
  if (obj.object === 'customer') return idOf(obj.id);
  const id = idOf(obj.customer);
  return id && /^cus_[A-Za-z0-9_]+$/.test(id) ? id : null;
}

/**
 * The webhook entry point: verify, dedupe by event id, serialise per customer, re-read the object
 * from Stripe and upsert it. One transaction covers the ledger row and the mirror: a failure rolls
 * both back and is reported (5xx) so that Stripe's retry processes the event again; a duplicate or
 * an event of a type we do not use is acknowledged.
 */
export async function handleStripeWebhook(deps: BillingDeps, rawBody: Buffer | string, signature: unknown): Promise<WebhookResult> {
  const event = verifyStripeEvent(rawBody, signature, deps.config.webhookSecrets, deps.config.webhookToleranceSeconds);
  const customerId = customerOf(event);
  const handled = HANDLED.has(event.type) && customerId !== null;
  const lagSeconds = Math.max(0, deps.clock.now().getTime() / 1000 - event.created);
  const ref = { id: event.id, type: event.type, created: Math.floor(event.created), customerId };
  let outcome: WebhookResult['outcome'];
  try {
    outcome = await deps.db.transaction().execute(async (trx) => {
      if (!(await claimEvent(trx, ref, handled ? 'processed' : 'ignored'))) return 'duplicate';
      if (!handled || !customerId) return 'ignored';
      await lockCustomer(trx, customerId);
      return (await processEvent(trx, deps, event, customerId)) ? 'processed' : 'ignored';
    });
  } catch (err) {
    const code = err instanceof BillingError ? err.code : 'INTERNAL';
    await recordEventFailure(deps.db, ref, code).catch(() => undefined);
    deps.observer?.webhook?.({ type: event.type, outcome: 'failed', lagSeconds });
    throw err instanceof BillingError &&
      (err.code === 'STRIPE_UNAVAILABLE' || err.code === 'STRIPE_RATE_LIMITED' || err.code === 'DATABASE_UNAVAILABLE')
      ? err
      : new BillingError('WEBHOOK_PROCESSING_FAILED', 'Webhook processing failed; Stripe will retry', { cause: err });
  }
  deps.observer?.webhook?.({ type: event.type, outcome, lagSeconds });
  return { outcome, eventId: event.id, type: event.type, lagSeconds };
}

async function processEvent(trx: Trx, deps: BillingDeps, event: Stripe.Event, customerId: string): Promise<boolean> {
  const obj = event.data.object as unknown as Record<string, unknown>;
  const hint =
    typeof (obj.metadata as Record<string, unknown> | undefined)?.user_id === 'string'
      ? ((obj.metadata as Record<string, string>).user_id as string)
      : undefined;
  const userId = await resolveUser(trx, deps, customerId, hint);
  if (!userId) return false;
  const counts = emptyCounts();
  await recordTransitions(trx, event, userId);

  if (event.type.startsWith('checkout.session.')) {
    const sessionId = idOf(obj.id);
    if (!sessionId) return false;
    const session = await stripeCall(() => deps.stripe.checkout.sessions.retrieve(sessionId, { expand: ['subscription'] }));
    const local = await findCheckoutSession(trx, sessionId);
    if (local && local.status !== session.status && session.status)
      await setCheckoutStatus(
        trx,
        sessionId,
        session.status === 'complete' ? 'complete' : session.status === 'expired' ? 'expired' : local.status,
      );
    if (session.subscription && typeof session.subscription === 'object') {
      await applySubscription(trx, deps, session.subscription, userId, Date.now());
      await afterSubscription(trx, deps, customerId, userId);
    }
    return true;
  }

  if (event.type.startsWith('customer.subscription.')) {
    const subId = idOf(obj.id);
    if (!subId) return false;
    try {
      await syncSubscription(trx, deps, subId, userId, counts);
    } catch (err) {
      if (isStripeNotFound(err)) return false;
      throw err;
    }
    if (event.type === 'customer.subscription.created' || event.type === 'customer.subscription.updated')
      await afterSubscription(trx, deps, customerId, userId);
    return true;
  }

  if (event.type.startsWith('invoice.')) {
    const invoiceId = idOf(obj.id);
    if (!invoiceId) return false;
    let invoice: Stripe.Invoice;
    try {
      invoice = await syncInvoice(trx, deps, invoiceId, userId, counts);
    } catch (err) {
      if (isStripeNotFound(err)) return false;
      throw err;
    }
    // An invoice can arrive before its subscription: bring the subscription along.
    const subId = idOf(invoice.parent?.subscription_details?.subscription);
    if (subId) await syncSubscription(trx, deps, subId, userId, counts);
    return true;
  }
  return false;
}

/**
 * The mirror takes its state from a re-read, which only shows the present; the signed payload is
 * the record of what happened. A subscription that went active and ended before we heard of it
 * still activated once: that transition is recorded from the payload, once per subscription.
 */
async function recordTransitions(trx: Trx, event: Stripe.Event, userId: string): Promise<void> {
  const obj = event.data.object as unknown as Record<string, unknown>;
  if (obj.object === 'subscription' && (obj.status === 'active' || obj.status === 'trialing') && typeof obj.id === 'string') {
    await notifyOnce(trx, userId, 'plan_activated', obj.id, `plan_activated:${obj.id}`);
  }
  if (event.type === 'invoice.payment_failed' && typeof obj.id === 'string') {
    const sub = idOf((obj.parent as { subscription_details?: { subscription?: unknown } } | null)?.subscription_details?.subscription);
    if (sub) await notifyOnce(trx, userId, 'payment_failed', sub, `payment_failed:${obj.id}:${String(obj.attempt_count)}`);
  }
}

/** After a subscription went live, make sure it is the person's only live one. */
async function afterSubscription(trx: Trx, deps: BillingDeps, customerId: string, userId: string): Promise<void> {
  const live = await trx
    .selectFrom('subscriptions')
    .select('stripe_subscription_id')
    .where('user_id', '=', userId)
    .where('status', 'in', ['active', 'trialing', 'past_due'])
    .execute();
  if (live.length < 2) return;
  const subs = await stripeCall(() => deps.stripe.subscriptions.list({ customer: customerId, status: 'all', limit: 100 }));
  await cancelDuplicateSubscriptions(trx, deps, userId, subs.data);
}
