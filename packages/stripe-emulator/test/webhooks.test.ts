import Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, signPayload, startEmulator } from '../src/index.ts';
import { control, type Receiver, receiver, SECRET, sdk } from './helpers.ts';

let emulator: RunningEmulator | undefined;
let hook: Receiver | undefined;
const verifier = new Stripe('sk_test_verify');

afterEach(async () => {
  await emulator?.close();
  await hook?.close();
});

async function setup(retryDelaysMs = [10, 20, 40]) {
  hook = await receiver(verifier);
  emulator = await startEmulator({
    port: 0,
    webhook: { url: hook.url, secret: SECRET },
    webhookOptions: { retryDelaysMs, timeoutMs: 2000 },
  });
  return { hook, emulator, stripe: sdk(emulator) };
}

describe('webhook delivery', () => {
  it('signs deliveries so that stripe.webhooks.constructEvent accepts them', async () => {
    const { hook, emulator, stripe } = await setup();
    const c = await stripe.customers.create({ email: 'w@example.com' });
    await emulator.webhooksIdle();
    expect(hook.events.map((e) => e.type)).toEqual(['customer.created']);
    expect(hook.events[0]?.data.object).toMatchObject({ id: c.id });
    expect(hook.events[0]?.request).toMatchObject({ idempotency_key: expect.any(String) });
  });

  it('a signature made with another secret is refused by constructEvent', () => {
    const payload = JSON.stringify({ id: 'evt_1', object: 'event' });
    expect(() => verifier.webhooks.constructEvent(payload, signPayload(payload, 'whsec_other'), SECRET)).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
    expect(verifier.webhooks.constructEvent(payload, signPayload(payload, SECRET), SECRET).id).toBe('evt_1');
  });

  it('retries non-2xx answers with backoff, signing each attempt anew, and logs every attempt', async () => {
    const { hook, emulator, stripe } = await setup();
    hook.failNext.push(500, 503);
    await stripe.customers.create({});
    await emulator.webhooksIdle();
    expect(hook.events).toHaveLength(1);
    const { body } = await control(emulator, 'GET', '/webhooks/deliveries');
    expect(body.data.map((d: { status: number }) => d.status)).toEqual([500, 503, 200]);
    expect(body.data.map((d: { attempt: number }) => d.attempt)).toEqual([1, 2, 3]);
    expect(body.data[2].final).toBe('delivered');
    expect(emulator.state.events.get(hook.events[0]?.id as string)?.pending_webhooks).toBe(0);
  });

  it('gives up after the last retry and records it', async () => {
    const { hook, emulator, stripe } = await setup([5, 5]);
    hook.failNext.push(500, 500, 500);
    await stripe.customers.create({});
    await emulator.webhooksIdle();
    expect(hook.events).toHaveLength(0);
    const last = emulator.webhooks.log.at(-1);
    expect(last).toMatchObject({ attempt: 3, status: 500, final: 'gave_up' });
  });

  it('retries a delivery whose endpoint is down', async () => {
    hook = await receiver(verifier);
    const url = hook.url;
    await hook.close();
    emulator = await startEmulator({ port: 0, webhook: { url, secret: SECRET }, webhookOptions: { retryDelaysMs: [5], timeoutMs: 500 } });
    await sdk(emulator).customers.create({});
    await emulator.webhooksIdle();
    expect(emulator.webhooks.log.map((d) => d.status)).toEqual([null, null]);
    expect(emulator.webhooks.log[0]?.error).toBeTruthy();
    hook = undefined;
  });

  it('delivers to endpoints created through the API with their own secret and event filter', async () => {
    emulator = await startEmulator({ port: 0 });
    const stripe = sdk(emulator);
    hook = await receiver(verifier, 'unused');
    const endpoint = await stripe.webhookEndpoints.create({ url: hook.url, enabled_events: ['customer.updated'] });
    const secret = endpoint.secret as string;
    await hook.close();
    hook = await receiver(verifier, secret);
    await stripe.webhookEndpoints.update(endpoint.id, { url: hook.url });
    const c = await stripe.customers.create({});
    await stripe.customers.update(c.id, { name: 'changed' });
    await emulator.webhooksIdle();
    expect(hook.events.map((e) => e.type)).toEqual(['customer.updated']);
    expect(hook.events[0]?.data.previous_attributes).toEqual({ name: null });
  });
});

describe('persistence', () => {
  it('keeps the account across a restart when given a state file', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'emulator-')), 'state.json');
    emulator = await startEmulator({ port: 0, stateFile: file });
    const stripe = sdk(emulator);
    const customer = await stripe.customers.create({ email: 'kept@example.com' });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: 'price_vip_monthly' }] });
    await control(emulator, 'POST', '/clock/advance', { seconds: 86_400 });
    await emulator.close();
    emulator = await startEmulator({ port: 0, stateFile: file });
    const again = sdk(emulator);
    expect((await again.customers.retrieve(customer.id)) as Stripe.Customer).toMatchObject({ email: 'kept@example.com' });
    expect((await again.subscriptions.retrieve(sub.id)).status).toBe('active');
    expect((await control(emulator, 'GET', '/clock')).body.now).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 86_400 - 5);
    expect((await again.prices.list()).data).toHaveLength(5);
  });
});
