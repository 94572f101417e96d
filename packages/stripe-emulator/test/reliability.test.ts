import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.ts';
import { control, sdk, withEmulator } from './helpers.ts';

let emulator: RunningEmulator;
let stripe: Stripe;

beforeAll(async () => {
  ({ emulator, stripe } = await withEmulator());
});
afterAll(() => emulator.close());
beforeEach(async () => {
  await control(emulator, 'POST', '/reset');
});

const customersNamed = (name: string) => [...emulator.state.customers.values()].filter((c) => c.name === name);

describe('idempotency', () => {
  it('replays the first response for the same key and parameters', async () => {
    const a = await stripe.customers.create({ name: 'idem' }, { idempotencyKey: 'key-1' });
    const b = await stripe.customers.create({ name: 'idem' }, { idempotencyKey: 'key-1' });
    expect(b.id).toBe(a.id);
    expect(customersNamed('idem')).toHaveLength(1);
    const replay = emulator.requests.filter((r) => r.idempotency_key === 'key-1');
    expect(replay.map((r) => r.replayed)).toEqual([false, true]);
  });

  it('refuses the same key with other parameters with an idempotency_error', async () => {
    await stripe.customers.create({ name: 'first' }, { idempotencyKey: 'key-2' });
    const err = await stripe.customers.create({ name: 'second' }, { idempotencyKey: 'key-2' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(err).toMatchObject({ statusCode: 400, type: 'StripeIdempotencyError' });
    expect(customersNamed('second')).toHaveLength(0);
  });

  it('replays errors too: a refused request stays refused under its key', async () => {
    const first = await stripe.checkout.sessions
      .create(
        { mode: 'subscription', line_items: [{ price: 'price_gone' }], success_url: 'https://a.example/s' },
        { idempotencyKey: 'key-3' },
      )
      .catch((e: unknown) => e);
    expect(first).toMatchObject({ statusCode: 404 });
    emulator.state.createPrice({
      id: 'price_gone',
      product: [...emulator.state.products.keys()][0] as string,
      unit_amount: 1,
      currency: 'usd',
      interval: 'month',
    });
    const second = await stripe.checkout.sessions
      .create(
        { mode: 'subscription', line_items: [{ price: 'price_gone' }], success_url: 'https://a.example/s' },
        { idempotencyKey: 'key-3' },
      )
      .catch((e: unknown) => e);
    expect(second).toMatchObject({ statusCode: 404 });
  });
});

describe('errors', () => {
  const inject = (status: number, path = '/v1/customers', count = 1) =>
    control(emulator, 'POST', '/faults', { method: 'POST', path, status, count });

  it.each([
    [400, Stripe.errors.StripeInvalidRequestError],
    [401, Stripe.errors.StripeAuthenticationError],
    [402, Stripe.errors.StripeCardError],
    [404, Stripe.errors.StripeInvalidRequestError],
    [429, Stripe.errors.StripeRateLimitError],
    [500, Stripe.errors.StripeAPIError],
  ])('status %i surfaces as the SDK error class Stripe would give', async (status, cls) => {
    const noRetry = sdk(emulator, { maxNetworkRetries: 0 });
    await inject(status);
    const err = await noRetry.customers.create({ name: `err-${status}` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(cls);
    expect((err as Stripe.errors.StripeError).statusCode).toBe(status);
    expect(customersNamed(`err-${status}`)).toHaveLength(0);
  });

  it('refuses a missing or live key with 401', async () => {
    const live = new Stripe('sk_live_abcdefghijkl', { host: '127.0.0.1', port: emulator.port, protocol: 'http' });
    await expect(live.customers.list()).rejects.toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    const res = await fetch(`${emulator.url}/v1/customers`);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toMatch(/did not provide an API key/);
  });

  it('does not retry 4xx: a 400 and a 402 are one request each', async () => {
    for (const status of [400, 402]) {
      await control(emulator, 'DELETE', '/requests');
      await inject(status);
      await stripe.customers.create({ name: 'x' }).catch(() => undefined);
      expect(emulator.requests.filter((r) => r.path === '/v1/customers')).toHaveLength(1);
    }
  });
});

describe('faults', () => {
  it('an injected 500 is retried by the SDK with the same key and creates exactly one object', async () => {
    await control(emulator, 'POST', '/faults', { method: 'POST', path: '/v1/customers', status: 500, count: 1 });
    const customer = await stripe.customers.create({ name: 'retried' });
    expect(customersNamed('retried')).toHaveLength(1);
    const attempts = emulator.requests.filter((r) => r.path === '/v1/customers' && r.method === 'POST');
    expect(attempts.map((r) => r.status)).toEqual([500, 200]);
    expect(new Set(attempts.map((r) => r.idempotency_key)).size).toBe(1);
    expect(customer.name).toBe('retried');
  });

  it('a dropped connection after the operation ran is replayed, not repeated', async () => {
    await control(emulator, 'POST', '/faults', { method: 'POST', path: '/v1/customers', drop: true, count: 1 });
    const customer = await stripe.customers.create({ name: 'dropped' });
    expect(customersNamed('dropped')).toHaveLength(1);
    expect(customersNamed('dropped')[0]?.id).toBe(customer.id);
    const attempts = emulator.requests.filter((r) => r.path === '/v1/customers' && r.method === 'POST');
    expect(attempts).toHaveLength(2);
    expect(attempts[1]?.replayed).toBe(true);
  });

  it('a delay holds the answer for the configured time and SDK timeouts fire', async () => {
    await control(emulator, 'POST', '/faults', { method: 'GET', path: '/v1/customers/*', delay_ms: 400, count: 1 });
    const c = await stripe.customers.create({});
    const impatient = sdk(emulator, { timeout: 100, maxNetworkRetries: 0 });
    const started = Date.now();
    const err = await impatient.customers.retrieve(c.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(Date.now() - started).toBeLessThan(380);
  });

  it('faults apply to the next N matching calls only, and can be cleared', async () => {
    await control(emulator, 'POST', '/faults', { method: 'GET', path: '/v1/prices', status: 503, count: 2 });
    const noRetry = sdk(emulator, { maxNetworkRetries: 0 });
    await expect(noRetry.prices.list()).rejects.toMatchObject({ statusCode: 503 });
    await expect(noRetry.prices.list()).rejects.toMatchObject({ statusCode: 503 });
    expect((await noRetry.prices.list()).data.length).toBeGreaterThan(0);
    await control(emulator, 'POST', '/faults', { path: '/v1/prices', status: 500, count: 5 });
    expect((await control(emulator, 'GET', '/faults')).body.data).toHaveLength(1);
    await control(emulator, 'DELETE', '/faults');
    expect((await noRetry.prices.list()).data.length).toBeGreaterThan(0);
  });

  it('logs every request with method, path, status, key and time', async () => {
    await control(emulator, 'DELETE', '/requests');
    await stripe.customers.create({}, { idempotencyKey: 'log-key' });
    const { body } = await control(emulator, 'GET', '/requests');
    expect(body.data[0]).toMatchObject({ method: 'POST', path: '/v1/customers', status: 200, idempotency_key: 'log-key' });
    expect(Date.parse(body.data[0].at)).not.toBeNaN();
  });
});
