import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, payOnHostedPage, startTestServer, type TestServer, telegramLogin } from './helpers.ts';

// A Checkout started and left (the browser's Back, the app closed) can be resumed or cancelled.
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

describe('a pending checkout', () => {
  it('is shown until it is paid or cancelled, with its plan and the page to finish paying on', async () => {
    const { access_token: token } = await telegramLogin(t);
    const none = await call('GET', `${t.api}/billing/checkout/pending`, { token });
    expect(none.status).toBe(200);
    expect(none.body).toBeNull();

    const started = await call('POST', `${t.api}/billing/checkout`, { token, body: { plan_id: 'premium_monthly' } });
    const pending = await call('GET', `${t.api}/billing/checkout/pending`, { token });
    expect(pending.body).toEqual({
      session_id: started.body.session_id,
      plan_id: 'premium_monthly',
      url: started.body.url,
      expires_at: expect.any(String),
    });
    expect(Date.parse(pending.body.expires_at)).toBeGreaterThan(Date.now() + 3600_000);

    const cancelled = await call('POST', `${t.api}/billing/checkout/cancel`, { token, body: { session_id: started.body.session_id } });
    expect(cancelled.body).toMatchObject({ checkout_status: 'canceled' });
    expect((await call('GET', `${t.api}/billing/checkout/pending`, { token })).body).toBeNull();

    const again = await call('POST', `${t.api}/billing/checkout`, { token, body: { plan_id: 'vip_monthly' } });
    expect((await call('GET', `${t.api}/billing/checkout/pending`, { token })).body).toMatchObject({ plan_id: 'vip_monthly' });
    await payOnHostedPage(t, again.body.url);
    await call('POST', `${t.api}/billing/checkout/success`, { token, body: { session_id: again.body.session_id } });
    expect((await call('GET', `${t.api}/billing/checkout/pending`, { token })).body).toBeNull();
  });

  it('is the caller’s own: another person sees none, and a signed-out caller is refused', async () => {
    const a = await telegramLogin(t);
    await call('POST', `${t.api}/billing/checkout`, { token: a.access_token, body: { plan_id: 'premium_monthly' } });
    const b = await telegramLogin(t);
    expect((await call('GET', `${t.api}/billing/checkout/pending`, { token: b.access_token })).body).toBeNull();
    expect((await call('GET', `${t.api}/billing/checkout/pending`)).status).toBe(401);
  });
});

describe('a promotion code', () => {
  it('Stripe does not know is a 422 that says so by its reason, over REST and tRPC; a known one discounts the first invoice', async () => {
    const { access_token: token } = await telegramLogin(t);
    const rest = await call('POST', `${t.api}/billing/checkout`, {
      token,
      body: { plan_id: 'premium_monthly', promotion_code: 'NOPE-2026' },
    });
    expect(rest.status).toBe(422);
    expect(rest.body).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', reason: 'PROMOTION_CODE_INVALID' });
    const rpc = await fetch(`${t.base}/trpc/billing.checkout.create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ plan_id: 'premium_monthly', promotion_code: 'NOPE-2026' }),
    }).then((r) => r.json() as Promise<{ error: { data: { reason: string; httpStatus: number } } }>);
    expect(rpc.error.data).toMatchObject({ reason: 'PROMOTION_CODE_INVALID', httpStatus: 422 });
    // The demo's code (as a Stripe account would have one).
    const ok = await call('POST', `${t.api}/billing/checkout`, {
      token,
      body: { plan_id: 'premium_monthly', promotion_code: 'WELCOME10' },
    });
    expect(ok.status).toBe(201);
    await payOnHostedPage(t, ok.body.url);
    await call('POST', `${t.api}/billing/checkout/success`, { token, body: { session_id: ok.body.session_id } });
    const invoices = await call('GET', `${t.api}/billing/invoices`, { token });
    expect(invoices.body[0]).toMatchObject({ amount_paid: 2610, status: 'paid' });
  });
});
