import { createHash, randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { forgetCustomer } from '../customers/customer.repository.ts';
import { ensureCustomer } from '../customers/ensure-customer.ts';
import type { BillingDeps } from '../deps.ts';
import { BillingError } from '../errors.ts';
import type { Plan } from '../plans/plans.ts';
import { checkRedirect, normaliseOrigins } from '../redirects/redirect-policy.ts';
import { hasLiveSubscription } from '../stars/stars.ts';
import { stripeCall, toBillingError } from '../stripe/stripe-errors.ts';
import { isBlocking } from '../subscriptions/statuses.ts';
import { applySubscription } from '../sync/apply.ts';
import { findUserById, type User } from '../users/user.repository.ts';
import {
  claimCheckoutCreation,
  findByIdempotencyKey,
  insertCheckoutSession,
  listOpenSessions,
  releaseCheckoutCreation,
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
/** How long a request waits for another one of the same person's to finish creating its session. */
const WAIT_FOR_OTHER_MS = 15_000;
/** A creation claim older than this is taken over (its holder died); taking over is safe: same key, same session. */
const STALE_CLAIM_MS = 10_000;

export function redirectOrigins(config: BillingDeps['config']): Set<string> {
  return normaliseOrigins([config.appUrl, ...config.allowedRedirectOrigins]);
}

const subscriptionExists = () =>
  new BillingError('SUBSCRIPTION_EXISTS', 'You already have an active subscription; change your plan instead of starting a new checkout');

interface Request {
  plan: Plan;
  successUrl: string;
  cancelUrl: string;
  key: string | undefined;
  requestHash: string;
}

/** A result already on record for this request: a keyed replay, or the identical open session. */
async function recorded(deps: BillingDeps, user: User, req: Request): Promise<CheckoutResult | undefined> {
  const now = deps.clock.now().getTime();
  if (req.key) {
    const existing = await findByIdempotencyKey(deps.db, user.id, req.key);
    if (existing && now - existing.created_at.getTime() <= IDEMPOTENCY_WINDOW_MS) {
      if (existing.request_hash !== req.requestHash)
        throw new BillingError('IDEMPOTENCY_CONFLICT', 'This Idempotency-Key was already used with a different request');
      return { session_id: existing.stripe_session_id, url: existing.url ?? '', replayed: true };
    }
    if (existing) await releaseIdempotencyKey(deps.db, existing.stripe_session_id);
    return undefined;
  }
  const open = await listOpenSessions(deps.db, user.id);
  const same = open.find(
    (s) =>
      s.plan_id === req.plan.plan_id &&
      s.success_url === req.successUrl &&
      s.cancel_url === req.cancelUrl &&
      s.url &&
      s.expires_at.getTime() - now > REUSE_MARGIN_MS,
  );
  return same ? { session_id: same.stripe_session_id, url: same.url ?? '', replayed: true } : undefined;
}

const isMissingCustomer = (err: unknown) => {
  const cause = err instanceof BillingError ? err.cause : err;
  const e = cause as { code?: string; param?: string } | undefined;
  return e?.code === 'resource_missing' && e.param === 'customer';
};

/**
 * Starts Checkout for a plan. Refuses an unknown plan, a redirect outside the allowed origins and a
 * person who already has a live subscription (they change plan instead).
 *
 * No database connection waits on Stripe: a person's concurrent requests are serialised by a
 * claim row (`checkout_creations`), not by a lock held across the network. The request holding the
 * claim talks to Stripe; the others wait without a connection and then reuse its session. An
 * identical open session is reused and any other open one is expired, so two tabs can never pay for
 * two subscriptions.
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
  const req: Request = { plan, successUrl, cancelUrl, key, requestHash };

  const deadline = Date.now() + WAIT_FOR_OTHER_MS;
  for (;;) {
    const replay = await recorded(deps, input.user, req);
    if (replay) return replay;
    // One live subscription per person across both rails (a Stars one included).
    if (await hasLiveSubscription(deps, input.user.id)) throw subscriptionExists();
    const attemptKey = await claimCheckoutCreation(deps.db, input.user.id, requestHash, randomUUID(), STALE_CLAIM_MS);
    if (attemptKey) {
      try {
        return await createUnderClaim(deps, input, req, attemptKey);
      } finally {
        await releaseCheckoutCreation(deps.db, input.user.id, attemptKey).catch(() => undefined);
      }
    }
    if (Date.now() > deadline)
      throw new BillingError('CHECKOUT_IN_PROGRESS', 'Another checkout for you is still being created; try again in a moment');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function createUnderClaim(deps: BillingDeps, input: CreateCheckoutInput, req: Request, attemptKey: string): Promise<CheckoutResult> {
  const user = input.user;
  // The claim's previous holder may have finished just before we took it.
  const replay = await recorded(deps, user, req);
  if (replay) return replay;
  if (!(await findUserById(deps.db, user.id))) throw new BillingError('USER_NOT_FOUND', 'User not found');

  let customerId = await ensureCustomer(deps, user);

  // Expire every other open session first (a plan switch, or a tab left open).
  for (const open of await listOpenSessions(deps.db, user.id)) {
    const expired = await stripeCall(() => deps.stripe.checkout.sessions.expire(open.stripe_session_id)).catch(() =>
      stripeCall(() => deps.stripe.checkout.sessions.retrieve(open.stripe_session_id, { expand: ['subscription'] })),
    );
    await setCheckoutStatus(deps.db, open.stripe_session_id, expired.status === 'complete' ? 'complete' : 'expired');
    const paid =
      expired.status === 'complete' && expired.subscription && typeof expired.subscription === 'object' ? expired.subscription : null;
    if (paid) {
      // Paid in another tab: remember the subscription now rather than wait for its webhook.
      await applyLive(deps, [paid], user.id);
      if (isBlocking(paid.status)) throw subscriptionExists();
    }
  }

  // The mirror may lag behind Stripe (a webhook still on its way): ask Stripe too.
  let remote: Stripe.ApiList<Stripe.Subscription>;
  try {
    remote = await stripeCall(() => deps.stripe.subscriptions.list({ customer: customerId, status: 'all', limit: 10 }));
  } catch (err) {
    if (!isMissingCustomer(err)) throw err;
    customerId = await replaceDeletedCustomer(deps, user, customerId);
    remote = await stripeCall(() => deps.stripe.subscriptions.list({ customer: customerId, status: 'all', limit: 10 }));
  }
  const liveRemote = remote.data.filter((s) => isBlocking(s.status));
  if (liveRemote.length > 0) {
    await applyLive(deps, liveRemote, user.id);
    throw subscriptionExists();
  }

  const create = (customer: string) =>
    stripeCall(() =>
      deps.stripe.checkout.sessions.create(
        {
          mode: 'subscription',
          customer,
          line_items: [{ price: req.plan.price_id, quantity: 1 }],
          success_url: req.successUrl,
          cancel_url: req.cancelUrl,
          client_reference_id: user.id,
          metadata: { user_id: user.id, plan_id: req.plan.plan_id },
          subscription_data: { metadata: { user_id: user.id, plan_id: req.plan.plan_id } },
        },
        // One key per intent: the client's, else the claim's (kept when a dead holder's claim is taken over).
        { idempotencyKey: req.key ? `checkout:${user.id}:${req.key}` : `checkout:${user.id}:${attemptKey}:${customer}` },
      ),
    );
  let session: Stripe.Checkout.Session;
  try {
    session = await create(customerId);
  } catch (err) {
    if (!isMissingCustomer(err)) throw toBillingError(err);
    customerId = await replaceDeletedCustomer(deps, user, customerId);
    session = await create(customerId);
  }
  await insertCheckoutSession(deps.db, {
    stripe_session_id: session.id,
    user_id: user.id,
    plan_id: req.plan.plan_id,
    price_id: req.plan.price_id,
    status: 'open',
    url: session.url,
    success_url: req.successUrl,
    cancel_url: req.cancelUrl,
    idempotency_key: req.key ?? null,
    request_hash: req.requestHash,
    expires_at: new Date(session.expires_at * 1000),
  });
  return { session_id: session.id, url: session.url ?? '', replayed: false };
}

/** Stripe says the stored customer no longer exists: forget it and make the person a new one. */
async function replaceDeletedCustomer(deps: BillingDeps, user: User, deleted: string): Promise<string> {
  const readAt = Date.now();
  await deps.db.transaction().execute((trx) => forgetCustomer(trx, deleted, readAt));
  return ensureCustomer(deps, user, { replacing: deleted });
}

async function applyLive(deps: BillingDeps, subs: Stripe.Subscription[], userId: string): Promise<void> {
  const readAt = Date.now();
  await deps.db.transaction().execute(async (trx) => {
    for (const sub of subs) await applySubscription(trx, deps, sub, userId, readAt);
  });
}
