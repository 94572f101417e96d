import { redirectOrigins } from '../checkout/create-checkout.ts';
import { ensureCustomer } from '../customers/ensure-customer.ts';
import type { BillingDeps } from '../deps.ts';
import { checkRedirect } from '../redirects/redirect-policy.ts';
import { stripeCall } from '../stripe/stripe-errors.ts';
import type { User } from '../users/user.repository.ts';

/**
 * A Customer Portal session for the person's own customer (created if missing); return URL
 * allowlisted. By default the portal returns to the Mini App's billing page marked
 * `?portal=return`, which makes the app re-read the customer from Stripe (`returnFromPortal`).
 */
export async function createPortal(deps: BillingDeps, input: { user: User; returnUrl?: string | undefined }): Promise<{ url: string }> {
  const returnUrl = checkRedirect(
    input.returnUrl ?? `${deps.config.appUrl.replace(/\/+$/, '')}/billing?portal=return`,
    redirectOrigins(deps.config),
    'return_url',
  );
  const customer = await ensureCustomer(deps, input.user);
  const session = await stripeCall(() => deps.stripe.billingPortal.sessions.create({ customer, return_url: returnUrl }));
  return { url: session.url };
}
