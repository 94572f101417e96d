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
