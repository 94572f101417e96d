import { createHash, randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { findCustomerIdByUser, forgetCustomer } from '../customers/customer.repository.ts';
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
  /** Kept on the Stripe customer (receipts and dunning emails go there) when we have none for the person. */
  email?: string | undefined;
  /** The name on the Stripe customer, when the request gives one. */
  name?: string | undefined;
  /** A promotion code the person typed: checked with Stripe first, then applied to the first invoice. */
  promotionCode?: string | undefined;
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
  /** The promotion code's Stripe id, when one was given and is valid. */
  promotion: string | undefined;
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
    .update(JSON.stringify([plan.plan_id, successUrl, cancelUrl, input.email ?? null, input.promotionCode ?? null]))
    .digest('hex');
  const req: Request = { plan, promotion: undefined, successUrl, cancelUrl, key, requestHash };

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
  const stored = await findUserById(deps.db, user.id);
  if (!stored) throw new BillingError('USER_NOT_FOUND', 'User not found');
  if (input.promotionCode) req.promotion = await findPromotionCode(deps, input.promotionCode);

  // The customer carries the person's email (receipts, dunning) and name; an email we learn now is kept.
  const email = stored.email ?? input.email;
  const learnsEmail = !stored.email && !!input.email;
  const hadCustomer = learnsEmail && !!(await findCustomerIdByUser(deps.db, user.id));
  let customerId = await ensureCustomer(deps, { ...stored, email: email ?? null, name: input.name ?? stored.name });
  if (learnsEmail) await rememberEmail(deps, stored, input.email as string, hadCustomer ? { customerId, name: input.name } : undefined);

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

  // A trial is for a first subscription only: anyone who ever subscribed pays from the start.
  const trialDays = req.plan.trial_days && !(await hasSubscribedBefore(deps, user.id)) ? req.plan.trial_days : undefined;
  const tax = deps.config.automaticTax === true;
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
          subscription_data: {
            metadata: { user_id: user.id, plan_id: req.plan.plan_id },
            ...(trialDays ? { trial_period_days: trialDays } : {}),
          },
          // A code checked here is applied; otherwise the person may type one on Stripe's page.
          ...(req.promotion ? { discounts: [{ promotion_code: req.promotion }] } : { allow_promotion_codes: true }),
          // Stripe Tax: the address entered in Checkout is saved to the customer, as tax needs one.
          ...(tax ? { automatic_tax: { enabled: true }, customer_update: { address: 'auto', name: 'auto' } } : {}),
        },
        // One key per intent: the client's, else the claim's (kept when a dead holder's claim is taken over).
        { idempotencyKey: req.key ? `checkout:${user.id}:${req.key}` : `checkout:${user.id}:${attemptKey}:${customer}` },
      ),
    );
  let session: Stripe.Checkout.Session;
  try {
    session = await create(customerId);
  } catch (err) {
    if (req.promotion && isPromotionRefused(err)) throw promotionInvalid();
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

const promotionInvalid = () =>
  new BillingError('PROMOTION_CODE_INVALID', 'This promotion code is not valid for this plan; check it or continue without one');

/** Stripe refused the discount (expired, used up, first-time only, below its minimum amount, another customer's). */
const isPromotionRefused = (err: unknown) => {
  const cause = (err instanceof BillingError ? err.cause : err) as { type?: string; param?: string } | undefined;
  return cause?.type === 'StripeInvalidRequestError' && (cause.param ?? '').startsWith('discounts');
};

/** A promotion code as the person typed it → its Stripe id, if Stripe has it active; else a 422 before any session. */
async function findPromotionCode(deps: BillingDeps, code: string): Promise<string> {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(code)) throw promotionInvalid();
  const found = await stripeCall(() => deps.stripe.promotionCodes.list({ code, active: true, limit: 1 }));
  const promo = found.data[0];
  if (!promo || promo.code.toLowerCase() !== code.toLowerCase()) throw promotionInvalid();
  return promo.id;
}

/** Whether the person ever had a subscription (on either rail): trials are for first subscriptions. */
async function hasSubscribedBefore(deps: BillingDeps, userId: string): Promise<boolean> {
  const [card, stars] = await Promise.all([
    deps.db.selectFrom('subscriptions').select('user_id').where('user_id', '=', userId).limit(1).executeTakeFirst(),
    deps.db.selectFrom('star_subscriptions').select('user_id').where('user_id', '=', userId).limit(1).executeTakeFirst(),
  ]);
  return !!(card || stars);
}

/**
 * The first email we learn for a person is kept, and given to their Stripe customer (receipts,
 * dunning): a customer made just now already has it; one made before gets it now.
 */
async function rememberEmail(
  deps: BillingDeps,
  user: User,
  email: string,
  existing: { customerId: string; name: string | undefined } | undefined,
): Promise<void> {
  await deps.db.updateTable('users').set({ email, updated_at: new Date() }).where('id', '=', user.id).where('email', 'is', null).execute();
  if (!existing) return;
  const { customerId, name } = existing;
  await stripeCall(() =>
    deps.stripe.customers.update(
      customerId,
      { email, ...(name ? { name } : {}) },
      { idempotencyKey: `customer-email:${customerId}:${email}` },
    ),
  );
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
