import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  JWT_SECRET,
  METRICS_TOKEN,
  payOnHostedPage,
  STRIPE_LIKE_ENV,
  startTestServer,
  type TestServer,
  telegramLogin,
} from './helpers.ts';

let t: TestServer;
beforeAll(async () => {
  // The main walk meets Stripe's latency, rate limit and unordered webhooks, as the demo does.
  t = await startTestServer(STRIPE_LIKE_ENV);
});
afterAll(() => t.close());

const counter = async (name: string, labels = '') => {
  const res = await fetch(`${t.base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name}${labels}`) && !l.startsWith('#'));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

const BILLING_PATHS: Array<[string, string, unknown?]> = [
  ['GET', '/billing/subscription'],
  ['POST', '/billing/checkout', { plan_id: 'premium_monthly' }],
  ['POST', '/billing/checkout/success', { session_id: 'cs_test_x' }],
  ['POST', '/billing/checkout/cancel', { session_id: 'cs_test_x' }],
  ['POST', '/billing/portal', {}],
  ['GET', '/billing/invoices'],
  ['POST', '/billing/subscription/change', { plan_id: 'vip_monthly' }],
  ['POST', '/billing/subscription/cancel', {}],
  ['POST', '/billing/subscription/resume', {}],
];

describe('REST /api/v1', () => {
  it('a new Telegram user is on the free tier', async () => {
    const login = await telegramLogin(t);
    expect(login).toMatchObject({ token_type: 'Bearer', expires_in: 3600, user: { name: 'Ann Lee' } });
    const sub = await call('GET', `${t.api}/billing/subscription`, { token: login.access_token });
    expect(sub.status).toBe(200);
    expect(sub.body).toMatchObject({
      tier: 'free',
      status: 'inactive',
      current_period_start: null,
      current_period_end: null,
      price_usd_monthly: 0,
      cancel_at_period_end: false,
    });
  });

  it('lists the plans without a token', async () => {
    const res = await call('GET', `${t.api}/billing/plans`);
    expect(res.status).toBe(200);
    expect(res.body.map((p: { plan_id: string; price_usd_monthly: number }) => [p.plan_id, p.price_usd_monthly])).toEqual([
      ['premium_monthly', 29],
      ['vip_monthly', 99],
      ['enterprise_monthly', 299],
      ['premium_yearly', 24],
      ['vip_yearly', 83],
    ]);
    expect(res.body[0]).toMatchObject({ name: 'Premium', amount: 2900, currency: 'usd', interval: 'month', features: expect.any(Array) });
  });

  describe('every billing path refuses a bad token with 401', () => {
    const login = () => telegramLogin(t);
    const tokens: Array<[string, () => Promise<string | undefined>]> = [
      ['no token', async () => undefined],
      ['garbage', async () => 'not-a-jwt'],
      [
        'expired',
        async () =>
          jwt.sign(
            { sub: (await login()).user.id, iss: 'miniapp-billing', aud: 'miniapp-billing', exp: Math.floor(Date.now() / 1000) - 10 },
            JWT_SECRET,
          ),
      ],
      [
        'wrongly signed',
        async () =>
          jwt.sign({ sub: (await login()).user.id }, 'another-secret-that-is-long-enough-to-be-valid', {
            issuer: 'miniapp-billing',
            audience: 'miniapp-billing',
            expiresIn: 600,
          }),
      ],
      [
        'alg:none',
        async () => {
          const sub = (await login()).user.id;
          const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
          return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub, iss: 'miniapp-billing', aud: 'miniapp-billing', exp: Math.floor(Date.now() / 1000) + 600 })}.`;
        },
      ],
    ];
    for (const [label, make] of tokens) {
      it(label, async () => {
        const token = await make();
        for (const [method, path, body] of BILLING_PATHS) {
          const res = await call(method, `${t.api}${path}`, { ...(token ? { token } : {}), ...(body !== undefined ? { body } : {}) });
          expect(res.status, `${method} ${path}`).toBe(401);
          expect(res.body).toMatchObject({ code: 'UNAUTHORIZED', message: expect.any(String), request_id: expect.any(String) });
        }
      });
    }
  });

  it('checkout answers 201, 400 for an unknown plan, 422 without plan_id, 400 for a foreign redirect', async () => {
    const { access_token: token } = await telegramLogin(t);
    const unknown = await call('POST', `${t.api}/billing/checkout`, { token, body: { plan_id: 'gold' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toContain('Unknown plan');
    const missing = await call('POST', `${t.api}/billing/checkout`, { token, body: {} });
    expect(missing.status).toBe(422);
    expect(missing.body).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', request_id: expect.any(String) });
    expect(missing.body.issues[0].path).toBe('plan_id');
    const foreign = await call('POST', `${t.api}/billing/checkout`, {
      token,
      body: { plan_id: 'premium_monthly', success_url: 'https://evil.example/ok' },
    });
    expect(foreign.status).toBe(400);
    expect(foreign.body.reason).toBe('INVALID_REDIRECT');
    const ok = await call('POST', `${t.api}/billing/checkout`, { token, body: { plan_id: 'premium_monthly' } });
    expect(ok.status).toBe(201);
    expect(ok.body).toEqual({ session_id: expect.stringMatching(/^cs_test_/), url: expect.stringContaining('/checkout/') });
  });

  it('after paying on the hosted page the plan, status, period and price show, with a paid invoice and its PDF', async () => {
    const { access_token: token } = await telegramLogin(t);
    const startsBefore = await counter('miniapp_checkout_start_total', '{plan="vip_monthly"}');
    const portalsBefore = await counter('miniapp_portal_open_total');
    const checkout = await call('POST', `${t.api}/billing/checkout`, { token, body: { plan_id: 'vip_monthly' } });
    const redirect = await payOnHostedPage(t, checkout.body.url);
    expect(redirect).toBe(`https://app.example.com/billing/success?session_id=${checkout.body.session_id}`);
    const confirmed = await call('POST', `${t.api}/billing/checkout/success`, { token, body: { session_id: checkout.body.session_id } });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.message).toBe('Plan activated');
    // The success page's receipt: the amount, the card it was charged to, Stripe's receipt page.
    expect(confirmed.body.receipt).toMatchObject({
      amount_paid: 9900,
      currency: 'usd',
      invoice_number: expect.any(String),
      card_brand: 'visa',
      card_last4: '4242',
      receipt_url: expect.stringContaining('/receipts/'),
    });
    const receiptPage = await fetch(confirmed.body.receipt.receipt_url);
    expect(receiptPage.status).toBe(200);
    expect(await receiptPage.text()).toMatch(/\$99[\s\S]*visa •••• 4242/);
    const sub = await call('GET', `${t.api}/billing/subscription`, { token });
    expect(sub.body).toMatchObject({ tier: 'vip_monthly', status: 'active', price_usd_monthly: 99, cancel_at_period_end: false });
    expect(Date.parse(sub.body.current_period_end) - Date.parse(sub.body.current_period_start)).toBeGreaterThan(27 * 86_400_000);
    const invoices = await call('GET', `${t.api}/billing/invoices?limit=10`, { token });
    expect(invoices.status).toBe(200);
    expect(invoices.body).toHaveLength(1);
    expect(invoices.body[0]).toMatchObject({ status: 'paid', amount_paid: 9900, currency: 'usd', created: expect.any(Number) });
    const pdf = await fetch(invoices.body[0].pdf_url);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    const portal = await call('POST', `${t.api}/billing/portal`, { token });
    expect(portal.status).toBe(201);
    expect(portal.body.url).toContain('/portal/');
    expect(await counter('miniapp_checkout_start_total', '{plan="vip_monthly"}')).toBe(startsBefore + 1);
    expect(await counter('miniapp_portal_open_total')).toBe(portalsBefore + 1);
  });

  it('a second checkout while subscribed is a 409 that points to changing plan', async () => {
    const { access_token: token } = await telegramLogin(t);
    const checkout = await call('POST', `${t.api}/billing/checkout`, { token, body: { plan_id: 'premium_monthly' } });
    await payOnHostedPage(t, checkout.body.url);
    const again = await call('POST', `${t.api}/billing/checkout`, { token, body: { plan_id: 'vip_monthly' } });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      code: 'CONFLICT',
      reason: 'SUBSCRIPTION_EXISTS',
      message: expect.stringContaining('change your plan'),
    });
    const changed = await call('POST', `${t.api}/billing/subscription/change`, { token, body: { plan_id: 'vip_monthly' } });
    expect(changed.status).toBe(200);
    expect(changed.body.tier).toBe('vip_monthly');
  });

  it('an Idempotency-Key replays the same session and conflicts for another body', async () => {
    const { access_token: token } = await telegramLogin(t);
    const headers = { 'idempotency-key': 'client-key-1' };
    const a = await call('POST', `${t.api}/billing/checkout`, { token, headers, body: { plan_id: 'premium_monthly' } });
    const b = await call('POST', `${t.api}/billing/checkout`, { token, headers, body: { plan_id: 'premium_monthly' } });
    expect(b.body.session_id).toBe(a.body.session_id);
    const c = await call('POST', `${t.api}/billing/checkout`, { token, headers, body: { plan_id: 'vip_monthly' } });
    expect(c.status).toBe(409);
  });

  it('a Stripe outage is a clean 502 with no Stripe message, stack or secret', async () => {
    const { access_token: token } = await telegramLogin(t);
    await t.emulatorControl('POST', '/faults', { method: 'POST', path: '/v1/customers', status: 500, count: 10 });
    const res = await call('POST', `${t.api}/billing/checkout`, { token, body: { plan_id: 'premium_monthly' } });
    await t.emulatorControl('DELETE', '/faults');
    expect(res.status).toBe(502);
    expect(res.body).toEqual({
      code: 'BAD_GATEWAY',
      reason: 'STRIPE_UNAVAILABLE',
      message: expect.stringContaining('payment provider'),
      request_id: expect.any(String),
    });
    expect(JSON.stringify(res.body)).not.toMatch(/injected|stack|sk_test|at \w+ \(/i);
  });

  it('bad bodies get clear 4xx answers', async () => {
    const { access_token: token } = await telegramLogin(t);
    const notJson = await call('POST', `${t.api}/billing/checkout`, {
      token,
      body: '{"plan_id":',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body.code).toBe('PARSE_ERROR');
    const text = await call('POST', `${t.api}/billing/checkout`, { token, body: 'plan_id=x', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    const huge = await call('POST', `${t.api}/billing/checkout`, { token, body: { plan_id: 'x'.repeat(100_000) } });
    expect(huge.status).toBe(413);
    const extra = await call('POST', `${t.api}/billing/checkout`, { token, body: { plan_id: 'premium_monthly', admin: true } });
    expect(extra.status).toBe(422);
    const wrongType = await call('GET', `${t.api}/billing/invoices?limit=abc`, { token });
    expect(wrongType.status).toBe(422);
    const unknownPath = await call('GET', `${t.api}/billing/nothing`, { token });
    expect(unknownPath.status).toBe(404);
    expect(unknownPath.body).toMatchObject({ code: 'NOT_FOUND', request_id: expect.any(String) });
  });

  it('demo login exists in demo mode', async () => {
    const res = await call('POST', `${t.api}/auth/demo`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', user: { name: 'Demo user', telegram_id: null } });
  });
});

describe('operations endpoints', () => {
  it('healthz, readyz and a protected metrics endpoint', async () => {
    expect((await call('GET', `${t.base}/healthz`)).status).toBe(200);
    expect((await call('GET', `${t.base}/readyz`)).body).toEqual({ status: 'ready', database: true, migrations: true });
    expect((await call('GET', `${t.base}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${t.base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    const text = await metrics.text();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toMatch(/http_request_duration_seconds_count\{method="GET",route="GET \/api\/v1\/billing\/subscription",status="200"\}/);
    expect(text).toMatch(/stripe_requests_total\{operation="POST \/v1\/checkout\/sessions",outcome="success"\}/);
    expect(text).not.toMatch(/route="[^"]*cs_test_/);
  });

  it('logs carry request ids and never a token, secret or init data', async () => {
    const login = await telegramLogin(t);
    await call('GET', `${t.api}/billing/subscription`, { token: login.access_token });
    const all = t.logs.join('\n');
    expect(all).not.toContain(login.access_token);
    expect(all).not.toContain(JWT_SECRET);
    expect(all).not.toContain('whsec_');
    expect(all).not.toContain('auth_date=');
    expect(all).not.toContain(METRICS_TOKEN);
  });
});
