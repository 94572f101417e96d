import Stripe from 'stripe';
import { BillingError } from '../errors.ts';

/** Stripe's own limit for an event body is far below this; anything larger is refused unread. */
export const MAX_WEBHOOK_BYTES = 1024 * 1024;

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
  // Decoded once here: handed bytes, the SDK decodes them anew for the signature and again for the parse,
  // for every secret it tries.
  const payload = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8');
  for (const secret of secrets) {
    let event: Stripe.Event;
    try {
      event = verifier.webhooks.constructEvent(payload, signature, secret, toleranceSeconds);
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
    // Seconds since 1970 that fit our ledger: a signed event with `created: 1e20` is refused, not a 500.
    typeof ev.created === 'number' &&
    Number.isSafeInteger(ev.created) &&
    ev.created >= 0 &&
    ev.created < 2 ** 32 &&
    typeof data === 'object' &&
    data !== null &&
    typeof data.object === 'object' &&
    data.object !== null &&
    !Array.isArray(data.object)
  );
}
