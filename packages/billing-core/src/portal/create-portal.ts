import { redirectOrigins } from '../checkout/create-checkout.ts';
import { ensureCustomer } from '../customers/ensure-customer.ts';
import type { BillingDeps } from '../deps.ts';
import { checkRedirect } from '../redirects/redirect-policy.ts';
import { stripeCall } from '../stripe/stripe-errors.ts';
import type { User } from '../users/user.repository.ts';

/** A Customer Portal session for the person's own customer (created if missing); return URL allowlisted. */
export async function createPortal(deps: BillingDeps, input: { user: User; returnUrl?: string | undefined }): Promise<{ url: string }> {
  const returnUrl = checkRedirect(
    input.returnUrl ?? `${deps.config.appUrl.replace(/\/+$/, '')}/billing`,
    redirectOrigins(deps.config),
    'return_url',
  );
  const customer = await ensureCustomer(deps, input.user);
  const session = await stripeCall(() => deps.stripe.billingPortal.sessions.create({ customer, return_url: returnUrl }));
  return { url: session.url };
}
