import { signPayload } from '@miniapp-billing/stripe-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestServer, type TestServer } from './helpers.ts';

const SECRET = 'whsec_route_tests_secret_1';
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ STRIPE_WEBHOOK_SECRET: `${SECRET},whsec_route_tests_secret_2` });
});
afterAll(() => t.close());

const event = (id: string, type = 'product.created') =>
  JSON.stringify({
    id,
    object: 'event',
    type,
    created: Math.floor(Date.now() / 1000),
    data: { object: { id: 'prod_1', object: 'product' } },
  });
const post = (body: string | Buffer, signature?: string) =>
  fetch(`${t.api}/billing/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature ? { 'stripe-signature': signature } : {}) },
    body,
  });

describe('POST /api/v1/billing/webhooks/stripe', () => {
  it('acknowledges a signed event, and a duplicate, with 200 {received:true}', async () => {
    const body = event('evt_route_1');
    const first = await post(body, signPayload(body, SECRET));
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ received: true });
    const again = await post(body, signPayload(body, 'whsec_route_tests_secret_2'));
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ received: true });
  });

  it('refuses a bad signature with 400 and a clear code', async () => {
    const body = event('evt_route_2');
    const res = await post(body, signPayload(body, 'whsec_not_ours_at_all'));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'BAD_REQUEST', reason: 'WEBHOOK_SIGNATURE_INVALID', request_id: expect.any(String) });
    expect((await post(body)).status).toBe(400);
  });

  it('refuses a body over 1 MB with 413', async () => {
    const big = Buffer.alloc(1024 * 1024 + 10, 'x');
    const res = await post(big, 't=1,v1=00');
    expect(res.status).toBe(413);
  });

  it('the real emulator deliveries are all accepted', async () => {
    const login = await call('POST', `${t.api}/auth/demo`);
    const token = login.body.access_token;
    const checkout = await call('POST', `${t.api}/billing/checkout`, { token, body: { plan_id: 'premium_monthly' } });
    // This server was started with its own secrets, and the emulator signs with the first one.
    await t.emulatorControl('POST', `/checkout/sessions/${checkout.body.session_id}/complete`, {});
    await t.server.emulator?.webhooksIdle();
    const deliveries = (await t.emulatorControl('GET', '/webhooks/deliveries')).body.data as Array<{ status: number }>;
    expect(deliveries.length).toBeGreaterThan(5);
    expect(deliveries.every((d) => d.status === 200)).toBe(true);
    // Acknowledged first and applied by a worker: the view is read once it has caught up.
    await expect
      .poll(async () => (await call('GET', `${t.api}/billing/subscription`, { token })).body.tier, { timeout: 10_000, interval: 50 })
      .toBe('premium_monthly');
  });
});
