import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call, startTestServer, type TestServer } from '../helpers.ts';
import { figure } from './figures.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ STRIPE_TIMEOUT_MS: '1000' });
});
afterAll(() => t.close());
beforeEach(async () => {
  await t.emulatorControl('DELETE', '/faults');
});

const demo = async () => (await call('POST', `${t.api}/auth/demo`)).body as { access_token: string; user: { id: string } };
const requests = (method: string, path: string) =>
  (t.server.emulator?.requests ?? []).filter((r) => r.method === method && r.path === path);
const customersOf = (userId: string) =>
  [...(t.server.emulator?.state.customers.values() ?? [])].filter((c) => c.metadata.user_id === userId);

describe('Stripe faults', () => {
  it('a 500 then success creates one object under one idempotency key', async () => {
    const { access_token: token, user } = await demo();
    const before = requests('POST', '/v1/customers').length;
    await t.emulatorControl('POST', '/faults', { method: 'POST', path: '/v1/customers', status: 500, count: 1 });
    const res = await call('POST', `${t.api}/billing/portal`, { token });
    const attempts = requests('POST', '/v1/customers').slice(before);
    const keys = new Set(attempts.map((r) => r.idempotency_key));
    figure('stripe-500-then-success', {
      status: res.status,
      attempts: attempts.length,
      idempotency_keys: keys.size,
      customers: customersOf(user.id).length,
    });
    expect(res.status).toBe(201);
    expect(customersOf(user.id)).toHaveLength(1);
    expect(keys.size).toBe(1);
  });

  it('a connection dropped after Stripe committed still leaves one customer', async () => {
    const { access_token: token, user } = await demo();
    await t.emulatorControl('POST', '/faults', { method: 'POST', path: '/v1/customers', drop: true, count: 1 });
    const res = await call('POST', `${t.api}/billing/portal`, { token });
    figure('stripe-dropped-after-commit', { status: res.status, customers: customersOf(user.id).length });
    expect(res.status).toBe(201);
    expect(customersOf(user.id)).toHaveLength(1);
  });

  it('429: a short burst is absorbed by retries with backoff; a long one gives a clean 503 after a bounded number of requests', async () => {
    const { access_token: token } = await demo();
    await call('POST', `${t.api}/billing/portal`, { token });
    // Two 429s in a row: retried with backoff and jitter, the person never sees them.
    let before = requests('POST', '/v1/billing_portal/sessions').length;
    await t.emulatorControl('POST', '/faults', { method: 'POST', path: '/v1/billing_portal/sessions', status: 429, count: 2 });
    const absorbed = await call('POST', `${t.api}/billing/portal`, { token });
    expect(absorbed.status).toBe(201);
    expect(requests('POST', '/v1/billing_portal/sessions').length - before).toBe(3);

    // Stripe keeps refusing: each action stops after 1 + 3 attempts, with growing pauses between them.
    before = requests('POST', '/v1/billing_portal/sessions').length;
    await t.emulatorControl('POST', '/faults', { method: 'POST', path: '/v1/billing_portal/sessions', status: 429, count: 100 });
    const statuses: number[] = [];
    const bodies: Array<{ code: string; message: string }> = [];
    const started = performance.now();
    for (let i = 0; i < 3; i++) {
      const res = await call('POST', `${t.api}/billing/portal`, { token });
      statuses.push(res.status);
      bodies.push(res.body);
    }
    const ms = performance.now() - started;
    await t.emulatorControl('DELETE', '/faults');
    const sent = requests('POST', '/v1/billing_portal/sessions').length - before;
    figure('stripe-429', {
      user_calls: 3,
      stripe_requests: sent,
      status: statuses[0] as number,
      code: bodies[0]?.code ?? '',
      ms: Math.round(ms),
    });
    expect(statuses.every((s) => s === 503)).toBe(true);
    expect(sent).toBe(12);
    // Backoff: at least half of 250 + 500 + 1000 ms per action.
    expect(ms).toBeGreaterThan(3 * 875);
    expect(JSON.stringify(bodies)).not.toMatch(/Too many requests hit the API/);
  });

  it('slow Stripe: the person waits no longer than the configured timeout allows', async () => {
    const { access_token: token } = await demo();
    await call('POST', `${t.api}/billing/portal`, { token });
    await t.emulatorControl('POST', '/faults', { method: 'POST', path: '/v1/billing_portal/sessions', delay_ms: 10_000, count: 3 });
    const started = performance.now();
    const res = await call('POST', `${t.api}/billing/portal`, { token });
    const ms = Math.round(performance.now() - started);
    // Timeout 1 s, 2 retries with the SDK's backoff (≤ 0.5 s + 1 s): ~4.5 s by construction; the
    // bound leaves room for a loaded CI machine but fails if any attempt ran to the 10 s delay.
    figure('stripe-slow', { timeout_ms: 1000, retries: 2, user_latency_ms: ms, status: res.status });
    expect(res.status).toBe(502);
    expect(ms).toBeLessThan(7_000);
  });

  it.each([400, 401, 402, 404])('%i from Stripe is not retried and becomes a safe 502', async (status) => {
    const { access_token: token } = await demo();
    const before = requests('POST', '/v1/customers').length;
    await t.emulatorControl('POST', '/faults', { method: 'POST', path: '/v1/customers', status, count: 3 });
    const res = await call('POST', `${t.api}/billing/portal`, { token });
    const sent = requests('POST', '/v1/customers').length - before;
    figure('stripe-4xx', { stripe_status: status, stripe_requests: sent, status: res.status, reason: res.body.reason });
    expect(sent).toBe(1);
    expect(res.status).toBe(502);
    expect(res.body.message).toBe('The payment provider refused the request');
    expect(JSON.stringify(res.body)).not.toMatch(/Injected|declined|API key/i);
  });
});
