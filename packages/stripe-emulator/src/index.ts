/**
 * A local, stateful Stripe that the real `stripe` SDK talks to over HTTP.
 * Start it with `startEmulator()`; point the SDK at it with `{ host, port, protocol: 'http' }`.
 */

export type * from './objects.ts';
export { API_VERSION } from './objects.ts';
export {
  type LatencyOptions,
  RATE_LIMIT_PRESETS,
  type RateLimitOptions,
  type Realism,
  realismFromEnv,
  STRIPE_LIKE,
} from './realism.ts';
export { type EmulatorOptions, type Fault, type RequestRecord, type RunningEmulator, startEmulator } from './server.ts';
export { DEFAULT_CATALOG, type SeedPrice, StripeState } from './state.ts';
export { SERVED_VERSIONS } from './versions.ts';
export { type DeliveryAttempt, signPayload, type WebhookOptions } from './webhooks.ts';
