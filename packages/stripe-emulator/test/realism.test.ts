import Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.ts';
import { drawLatencyMs, RATE_LIMIT_PRESETS, realismFromEnv, STRIPE_LIKE } from '../src/realism.ts';
import { raw, receiver, sdk, withEmulator } from './helpers.ts';

let emulator: RunningEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))] as number;

describe('Stripe’s time and load', () => {
  it('latency is drawn around the median with a tail', () => {
    const draws = Array.from({ length: 20_000 }, () => drawLatencyMs({ medianMs: 150, p99Ms: 600 }));
    expect(quantile(draws, 0.5)).toBeGreaterThan(135);
    expect(quantile(draws, 0.5)).toBeLessThan(165);
    expect(quantile(draws, 0.99)).toBeGreaterThan(480);
    expect(quantile(draws, 0.99)).toBeLessThan(720);
    expect(Math.min(...draws)).toBeGreaterThan(0);
  });

  it('each answer waits for its drawn latency', async () => {
    let stripe: Stripe;
    ({ emulator, stripe } = await withEmulator({ realism: { latency: { medianMs: 60, p99Ms: 200 } } }));
    const took: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t = performance.now();
      await stripe.customers.list({ limit: 1 });
      took.push(performance.now() - t);
    }
    expect(quantile(took, 0.5)).toBeGreaterThan(35);
    expect(quantile(took, 0.5)).toBeLessThan(150);
  });

  it('the account’s rate limit answers 429 rate_limit past the preset, which the SDK reports as a rate-limit error', async () => {
    ({ emulator } = await withEmulator({ realism: { rateLimit: RATE_LIMIT_PRESETS.test } }));
    const running = emulator;
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 120 }, () => raw(running, 'GET', '/v1/customers', 'limit=1')));
    const seconds = (performance.now() - started) / 1000;
    const ok = answers.filter((a) => a.status === 200).length;
    const limited = answers.filter((a) => a.status === 429);
    // A full bucket of 25, plus what refilled while the burst was arriving (slow on a busy machine).
    expect(ok).toBeGreaterThanOrEqual(25);
    expect(ok).toBeLessThanOrEqual(25 + Math.ceil(25 * seconds) + 1);
    expect(limited.length).toBe(120 - ok);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]?.body.error).toMatchObject({ type: 'invalid_request_error', code: 'rate_limit' });
    // Through the SDK: sequential calls faster than 25/s meet the limit as a rate-limit error.
    const noRetries = sdk(running, { maxNetworkRetries: 0 });
    let thrown: unknown;
    for (let i = 0; i < 80 && !thrown; i++) await noRetries.customers.list({ limit: 1 }).catch((err: unknown) => (thrown = err));
    expect(thrown).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    // A second later the bucket has refilled.
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await raw(running, 'GET', '/v1/customers', 'limit=1')).status).toBe(200);
  });

  it('webhooks arrive concurrently and out of order, each exactly once', async () => {
    const verifier = new Stripe('sk_test_verifier');
    const hook = await receiver(verifier);
    try {
      let stripe: Stripe;
      ({ emulator, stripe } = await withEmulator({
        webhook: { url: hook.url, secret: hook.secret },
        realism: { webhooks: { concurrency: 4, jitterMs: 80 } },
      }));
      const created: string[] = [];
      for (let i = 0; i < 24; i++) created.push((await stripe.customers.create({ name: `c${i}` })).id);
      await emulator.webhooksIdle();
      const arrived = hook.events.filter((e) => e.type === 'customer.created').map((e) => (e.data.object as Stripe.Customer).id);
      expect([...arrived].sort()).toEqual([...created].sort());
      expect(new Set(hook.events.map((e) => e.id)).size).toBe(hook.events.length);
      expect(arrived).not.toEqual(created);
    } finally {
      await hook.close();
    }
  });

  it('reads its settings from the environment and names a bad one', () => {
    expect(realismFromEnv({}, STRIPE_LIKE)).toEqual(STRIPE_LIKE);
    expect(
      realismFromEnv(
        {
          STRIPE_EMULATOR_LATENCY_MS: '200/900',
          STRIPE_EMULATOR_RATE_LIMIT: 'live',
          STRIPE_EMULATOR_WEBHOOK_CONCURRENCY: '8',
        },
        STRIPE_LIKE,
      ),
    ).toEqual({
      latency: { medianMs: 200, p99Ms: 900 },
      rateLimit: RATE_LIMIT_PRESETS.live,
      webhooks: { concurrency: 8, jitterMs: STRIPE_LIKE.webhooks.jitterMs },
    });
    expect(realismFromEnv({ STRIPE_EMULATOR_LATENCY_MS: 'off', STRIPE_EMULATOR_RATE_LIMIT: 'off' }, STRIPE_LIKE)).toMatchObject({
      latency: false,
      rateLimit: false,
    });
    expect(() => realismFromEnv({ STRIPE_EMULATOR_LATENCY_MS: 'fast' })).toThrow(/STRIPE_EMULATOR_LATENCY_MS/);
    expect(() => realismFromEnv({ STRIPE_EMULATOR_RATE_LIMIT: 'lots' })).toThrow(/STRIPE_EMULATOR_RATE_LIMIT/);
    expect(() => realismFromEnv({ STRIPE_EMULATOR_WEBHOOK_CONCURRENCY: '0' })).toThrow(/STRIPE_EMULATOR_WEBHOOK_CONCURRENCY/);
  });
});
