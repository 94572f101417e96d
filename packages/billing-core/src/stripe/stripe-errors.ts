import Stripe from 'stripe';
import { BillingError } from '../errors.ts';

/**
 * Maps whatever a Stripe call threw to a safe domain error. Stripe's own message is kept only as the
 * `cause` (for logs), never in the error message a person sees.
 */
export function toBillingError(err: unknown): BillingError {
  if (err instanceof BillingError) return err;
  if (err instanceof Stripe.errors.StripeRateLimitError) {
    return new BillingError('STRIPE_RATE_LIMITED', 'The payment provider is busy; try again in a moment', { cause: err });
  }
  if (err instanceof Stripe.errors.StripeConnectionError || err instanceof Stripe.errors.StripeAPIError) {
    return new BillingError('STRIPE_UNAVAILABLE', 'The payment provider is unavailable; try again shortly', { cause: err });
  }
  if (err instanceof Stripe.errors.StripeError) {
    return new BillingError('STRIPE_REQUEST_FAILED', 'The payment provider refused the request', { cause: err });
  }
  return new BillingError('STRIPE_UNAVAILABLE', 'The payment provider is unavailable; try again shortly', { cause: err });
}

/** Runs one Stripe call and converts its failure into a domain error. */
export async function stripeCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toBillingError(err);
  }
}

export const isStripeNotFound = (err: unknown) =>
  err instanceof BillingError && err.cause instanceof Stripe.errors.StripeError && err.cause.statusCode === 404;
