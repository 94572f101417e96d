import { signPayload } from '@miniapp-billing/stripe-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestServer, type TestServer } from './helpers.ts';

const SECRET = 'whsec_limits_tests_secret_1';
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ STRIPE_WEBHOOK_SECRET: SECRET, BILLING_ACTIONS_PER_MINUTE: '3', TRPC_MAX_BATCH: '3' });
});
afterAll(() => t.close());

const demo = async () => (await call('POST', `${t.api}/auth/demo`)).body as { access_token: string; user: { id: string } };
const portalRequests = () =>
  (t.server.emulator?.requests ?? []).filter((r) => r.method === 'POST' && r.path === '/v1/billing_portal/sessions');

describe('limits', () => {
  it('a person over the billing-action limit gets 429 before any Stripe call; another person is not affected', async () => {
    const busy = await demo();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await call('POST', `${t.api}/billing/portal`, { token: busy.access_token })).status);
    expect(statuses).toEqual([201, 201, 201]);
    const before = portalRequests().length;
    const refused = await call('POST', `${t.api}/billing/portal`, { token: busy.access_token });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'TOO_MANY_REQUESTS', reason: 'RATE_LIMITED', request_id: expect.any(String) });
    expect(refused.body.message).toMatch(/try again in \d+ s/);
    const checkout = await call('POST', `${t.api}/billing/checkout`, { token: busy.access_token, body: { plan_id: 'premium_monthly' } });
    expect(checkout.status).toBe(429);
    expect(portalRequests().length).toBe(before);

    const other = await demo();
    expect((await call('POST', `${t.api}/billing/portal`, { token: other.access_token })).status).toBe(201);
    // Reads are never limited.
    expect((await call('GET', `${t.api}/billing/subscription`, { token: busy.access_token })).status).toBe(200);
  });

  it('a tRPC batch larger than TRPC_MAX_BATCH is refused; one at the limit is served', async () => {
    const { access_token } = await demo();
    const headers = { authorization: `Bearer ${access_token}` };
    const batch = (n: number) => {
      const names = Array.from({ length: n }, () => 'billing.subscription.get').join(',');
      return fetch(`${t.base}/trpc/${names}?batch=1`, { headers });
    };
    expect((await batch(3)).status).toBe(200);
    const tooMany = await batch(4);
    expect(tooMany.status).toBeGreaterThanOrEqual(400);
    expect(tooMany.status).toBeLessThan(500);
  });

  it('the webhook is acknowledged at once while Stripe is slow; the worker applies it afterwards', async () => {
    const { access_token } = await demo();
    const checkout = await call('POST', `${t.api}/billing/checkout`, { token: access_token, body: { plan_id: 'vip_monthly' } });
    const emulator = t.server.emulator as NonNullable<typeof t.server.emulator>;
    emulator.setWebhook({ url: 'http://127.0.0.1:9/nowhere', secret: SECRET });
    await t.emulatorControl('POST', `/checkout/sessions/${checkout.body.session_id}/complete`, {});
    const session = emulator.state.checkout.get(checkout.body.session_id);
    await t.emulatorControl('POST', '/faults', { method: 'GET', path: '/v1/subscriptions/*', delay_ms: 2_000, count: 1 });
    const body = JSON.stringify({
      id: `evt_limits_${Date.now()}`,
      object: 'event',
      type: 'customer.subscription.created',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      data: { object: { id: session.subscription, object: 'subscription', customer: session.customer } },
    });
    const started = performance.now();
    const ack = await fetch(`${t.api}/billing/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': signPayload(body, SECRET) },
      body,
    });
    const ackMs = performance.now() - started;
    expect(ack.status).toBe(200);
    expect(ackMs).toBeLessThan(1_000);
    await expect
      .poll(async () => (await call('GET', `${t.api}/billing/subscription`, { token: access_token })).body.tier, { timeout: 15_000 })
      .toBe('vip_monthly');
  });
});
