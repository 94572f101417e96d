import Stripe from 'stripe';
import type { RunningEmulator } from './server.ts';

/**
 * Helpers for the test suites of every package that talks to the emulator: the real SDK pointed at
 * it, and its control API. One home for both (`@miniapp-billing/stripe-emulator/testing`).
 */

/** The real `stripe` SDK over HTTP to a running emulator on loopback. */
export function sdkFor(emulator: Pick<RunningEmulator, 'port'>, options: Stripe.StripeConfig = {}, key = 'sk_test_emulator'): Stripe {
  return new Stripe(key, { host: '127.0.0.1', port: emulator.port, protocol: 'http', maxNetworkRetries: 2, ...options });
}

/** One call to the control API (`/_emulator…`, JSON): its status and parsed body. */
export async function emulatorControl(
  emulator: Pick<RunningEmulator, 'url'>,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${emulator.url}/_emulator${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}
