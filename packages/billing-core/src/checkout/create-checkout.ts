import { createHash, randomUUID } from 'node:crypto';
import { ensureCustomer } from '../customers/ensure-customer.ts';
import type { BillingDeps } from '../deps.ts';
import { BillingError } from '../errors.ts';
import { checkRedirect, normaliseOrigins } from '../redirects/redirect-policy.ts';
import { stripeCall } from '../stripe/stripe-errors.ts';
import { BLOCKING_STATUSES } from '../subscriptions/subscription.repository.ts';
import { applySubscription } from '../sync/sync.ts';
import { lockUser, type User } from '../users/user.repository.ts';
import {
  findByIdempotencyKey,
  insertCheckoutSession,
  listOpenSessions,
  releaseIdempotencyKey,
  setCheckoutStatus,
} from './checkout.repository.ts';

export interface CreateCheckoutInput {
  user: User;
  planId: string;
  successUrl?: string | undefined;
  cancelUrl?: string | undefined;
  email?: string | undefined;
  /** The client's `Idempotency-Key`: the same request within 24 h gets the same session back. */
  idempotencyKey?: string | undefined;
}

export interface CheckoutResult {
  session_id: string;
  url: string;
  /** True when an earlier identical request's session was returned. */
  replayed: boolean;
}

const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;
/** An open session is reused only while it has this much life left. */
const REUSE_MARGIN_MS = 30 * 60 * 1000;

export function redirectOrigins(config: BillingDeps['config']): Set<string> {
  return normaliseOrigins([config.appUrl, ...config.allowedRedirectOrigins]);
}

/**
 * Starts Checkout for a plan. Refuses an unknown plan, a redirect outside the allowed origins and a
 * person who already has a live subscription (they change plan instead). Per person, calls are
 * serialised; an identical open session is reused, and any other open session is expired first, so
 * two tabs can never pay for two subscriptions.
 */
export async function createCheckout(deps: BillingDeps, input: CreateCheckoutInput): Promise<CheckoutResult> {
  const plan = await deps.plans.get(input.planId);
  const origins = redirectOrigins(deps.config);
  const base = deps.config.appUrl.replace(/\/+$/, '');
  const successUrl = checkRedirect(input.successUrl ?? `${base}/billing/success?session_id={CHECKOUT_SESSION_ID}`, origins, 'success_url');
  const cancelUrl = checkRedirect(input.cancelUrl ?? `${base}/billing/cancel`, origins, 'cancel_url');
  const key = input.idempotencyKey;
  if (key !== undefined && !/^[\x21-\x7e]{1,255}$/.test(key))
    throw new BillingError('IDEMPOTENCY_CONFLICT', 'Idempotency-Key must be 1–255 visible ASCII characters');
  const requestHash = createHash('sha256')
    .update(JSON.stringify([plan.plan_id, successUrl, cancelUrl, input.email ?? null]))
    .digest('hex');
  const now = deps.clock.now();

  const replay = async (existing: Awaited<ReturnType<typeof findByIdempotencyKey>>): Promise<CheckoutResult | null> => {
    if (!existing) return null;
    if (now.getTime() - existing.created_at.getTime() > IDEMPOTENCY_WINDOW_MS) return null;
    if (existing.request_hash !== requestHash)
      throw new BillingError('IDEMPOTENCY_CONFLICT', 'This Idempotency-Key was already used with a different request');
    return { session_id: existing.stripe_session_id, url: existing.url ?? '', replayed: true };
  };
  if (key) {
    const replayed = await replay(await findByIdempotencyKey(deps.db, input.user.id, key));
    if (replayed) return replayed;
  }

  const customerId = await ensureCustomer(deps, input.user);

  // What the transaction learns about an existing subscription is kept (committed) before refusing.
  const outcome = await deps.db.transaction().execute(async (trx): Promise<CheckoutResult | 'exists'> => {
    if (!(await lockUser(trx, input.user.id))) throw new BillingError('USER_NOT_FOUND', 'User not found');
    if (key) {
      const existing = await findByIdempotencyKey(trx, input.user.id, key);
      const replayed = await replay(existing);
      if (replayed) return replayed;
      if (existing) await releaseIdempotencyKey(trx, existing.stripe_session_id);
    }
    const local = await trx
      .selectFrom('subscriptions')
      .select('stripe_subscription_id')
      .where('user_id', '=', input.user.id)
      .where('status', 'in', [...BLOCKING_STATUSES])
      .executeTakeFirst();
    if (local) return 'exists';

    // Reuse the identical open session (a second tap on Upgrade); expire any other.
    for (const open of await listOpenSessions(trx, input.user.id)) {
      const same = open.plan_id === plan.plan_id && open.success_url === successUrl && open.cancel_url === cancelUrl;
      if (same && !key && open.expires_at.getTime() - now.getTime() > REUSE_MARGIN_MS && open.url) {
        return { session_id: open.stripe_session_id, url: open.url, replayed: true };
      }
      const expired = await stripeCall(() => deps.stripe.checkout.sessions.expire(open.stripe_session_id)).catch(async () =>
        stripeCall(() => deps.stripe.checkout.sessions.retrieve(open.stripe_session_id, { expand: ['subscription'] })),
      );
      await setCheckoutStatus(trx, open.stripe_session_id, expired.status === 'complete' ? 'complete' : 'expired');
      if (expired.status === 'complete') {
        // Paid in another tab: remember the subscription now rather than wait for its webhook.
        if (expired.subscription && typeof expired.subscription === 'object')
          await applySubscription(trx, deps, expired.subscription, input.user.id, Date.now());
        return 'exists';
      }
    }

    // The mirror may lag behind Stripe (a webhook still on its way): ask Stripe too.
    const remote = await stripeCall(() => deps.stripe.subscriptions.list({ customer: customerId, status: 'all', limit: 10 }));
    const liveRemote = remote.data.filter((s) => (BLOCKING_STATUSES as readonly string[]).includes(s.status));
    if (liveRemote.length > 0) {
      for (const sub of liveRemote) await applySubscription(trx, deps, sub, input.user.id, Date.now());
      return 'exists';
    }

    const session = await stripeCall(() =>
      deps.stripe.checkout.sessions.create(
        {
          mode: 'subscription',
          customer: customerId,
          line_items: [{ price: plan.price_id, quantity: 1 }],
          success_url: successUrl,
          cancel_url: cancelUrl,
          client_reference_id: input.user.id,
          metadata: { user_id: input.user.id, plan_id: plan.plan_id },
          subscription_data: { metadata: { user_id: input.user.id, plan_id: plan.plan_id } },
        },
        { idempotencyKey: key ? `checkout:${input.user.id}:${key}` : `checkout:${input.user.id}:${randomUUID()}` },
      ),
    );
    await insertCheckoutSession(trx, {
      stripe_session_id: session.id,
      user_id: input.user.id,
      plan_id: plan.plan_id,
      price_id: plan.price_id,
      status: 'open',
      url: session.url,
      success_url: successUrl,
      cancel_url: cancelUrl,
      idempotency_key: key ?? null,
      request_hash: requestHash,
      expires_at: new Date(session.expires_at * 1000),
    });
    return { session_id: session.id, url: session.url ?? '', replayed: false };
  });
  if (outcome === 'exists') throw subscriptionExists();
  return outcome;
}

const subscriptionExists = () =>
  new BillingError('SUBSCRIPTION_EXISTS', 'You already have an active subscription; change your plan instead of starting a new checkout');
