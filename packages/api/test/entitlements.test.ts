import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBillingState } from '../src/cli/user.ts';
import { call, payOnHostedPage, startTestServer, type TestServer, telegramLogin } from './helpers.ts';

// Entitlements: what a person may do now, for the person and for other services of the platform.
const READER = 'svc_reader_token_for_the_entitlements_suite_0001';
const ADMIN = 'svc_admin_token_for_the_entitlements_suite_00001';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({
    SERVICE_TOKENS: `reader:read:${sha(READER)},ops:admin:${sha(ADMIN)}`,
    BILLING_ACTIONS_PER_MINUTE: '1000',
  });
});
afterAll(() => t.close());

const entitlementsFor = (userId: string, token?: string) => call('GET', `${t.api}/users/${userId}/entitlements`, token ? { token } : {});

describe('entitlements', () => {
  it('free until a plan gives access, then that plan’s features and limits; for the person and for a service', async () => {
    const login = await telegramLogin(t);
    const own = await call('GET', `${t.api}/billing/entitlements`, { token: login.access_token });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({
      user_id: login.user.id,
      plan_id: 'free',
      has_access: false,
      features: { export_pdf: false, priority_support: false, sso: false },
      limits: { projects: 3, seats: 1 },
    });
    const checkout = await call('POST', `${t.api}/billing/checkout`, { token: login.access_token, body: { plan_id: 'premium_monthly' } });
    await payOnHostedPage(t, checkout.body.url);
    await call('POST', `${t.api}/billing/checkout/success`, { token: login.access_token, body: { session_id: checkout.body.session_id } });
    const paid = await entitlementsFor(login.user.id, READER);
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({
      plan_id: 'premium_monthly',
      has_access: true,
      rail: 'stripe',
      features: { export_pdf: true, sso: false },
      limits: { projects: null, seats: 1 },
    });
    // Cancelled at period end: still the paid plan's until then.
    await call('POST', `${t.api}/billing/subscription/cancel`, { token: login.access_token, body: {} });
    expect((await entitlementsFor(login.user.id, ADMIN)).body).toMatchObject({ plan_id: 'premium_monthly', has_access: true });
  });

  it('other services need a service token: none, a person’s, or an unknown one is a 401; an unknown user a 404', async () => {
    const login = await telegramLogin(t);
    expect((await entitlementsFor(login.user.id)).status).toBe(401);
    expect((await entitlementsFor(login.user.id, login.access_token)).status).toBe(401);
    expect((await entitlementsFor(login.user.id, `${READER}x`)).status).toBe(401);
    const missing = await entitlementsFor('00000000-0000-4000-8000-000000000000', READER);
    expect(missing.status).toBe(404);
    expect((await entitlementsFor('not-a-uuid', READER)).status).toBe(422);
    // The route's metric label is its template, whatever the id.
    const metrics = await call('GET', `${t.base}/metrics`, { headers: { authorization: 'Bearer metrics-token-for-tests' } });
    expect(metrics.body).toContain('route="GET /api/v1/users/{user_id}/entitlements"');
    expect(metrics.body).not.toContain(login.user.id);
  });

  it('admin routes take an admin service token only: the operator’s view and a refund that ends access', async () => {
    const login = await telegramLogin(t);
    const view = (token?: string, id = login.user.id) =>
      call('GET', `${t.api}/admin/users/${encodeURIComponent(id)}`, token ? { token } : {});
    expect((await view()).status).toBe(401);
    expect((await view(login.access_token)).status).toBe(401);
    const readOnly = await view(READER);
    expect(readOnly.status).toBe(403);
    expect(readOnly.body).toMatchObject({ code: 'FORBIDDEN' });
    const refundAs = (token: string) => call('POST', `${t.api}/admin/users/${login.user.id}/refunds`, { token, body: {} });
    expect((await refundAs(READER)).status).toBe(403);
    expect((await refundAs(ADMIN)).status).toBe(409);

    const checkout = await call('POST', `${t.api}/billing/checkout`, {
      token: login.access_token,
      body: { plan_id: 'vip_monthly', user_email: 'ops-view@example.com' },
    });
    await payOnHostedPage(t, checkout.body.url);
    await call('POST', `${t.api}/billing/checkout/success`, { token: login.access_token, body: { session_id: checkout.body.session_id } });
    const state = await view(ADMIN);
    expect(state.status).toBe(200);
    expect(state.body).toMatchObject({
      user: { id: login.user.id, email: 'ops-view@example.com' },
      now: { subscription: { tier: 'vip_monthly', has_access: true }, entitlements: { flags: [] } },
      differences: [],
    });
    // What `pnpm billing:user` prints of it.
    const printed = formatBillingState(state.body);
    expect(printed).toContain(`${state.body.user.name} (${login.user.id})`);
    expect(printed).toMatch(/VIP · active · access until \d{4}-\d\d-\d\d/);
    expect(printed).toMatch(new RegExp(`${state.body.now.subscription.subscription_id}  vip_monthly active to .* \\| active`));
    expect(printed).toContain('Differences: none');
    expect(printed).toMatch(/checkout\.session\.completed|customer\.subscription/);
    // The same person by their Telegram id, their email and their Stripe customer.
    for (const id of [String(state.body.user.telegram_id), 'ops-view@example.com', state.body.stripe_customer_id])
      expect((await view(ADMIN, id)).body.user.id).toBe(login.user.id);
    expect((await view(ADMIN, 'nobody@example.com')).status).toBe(404);

    const refund = await refundAs(ADMIN);
    expect(refund.status).toBe(201);
    expect(refund.body).toMatchObject({
      rail: 'stripe',
      amount: 9900,
      currency: 'usd',
      access_ended: true,
      subscription: { has_access: false },
    });
    expect((await entitlementsFor(login.user.id, READER)).body).toMatchObject({ plan_id: 'free', has_access: false });
    const bad = await call('POST', `${t.api}/admin/users/${login.user.id}/refunds`, { token: ADMIN, body: { amount: -1 } });
    expect(bad.status).toBe(422);
  });
});
