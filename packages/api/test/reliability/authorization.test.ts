import { checkRedirect, normaliseOrigins } from '@miniapp-billing/billing-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, payOnHostedPage, startTestServer, type TestServer } from '../helpers.ts';
import { figure, scale } from './figures.ts';

let t: TestServer;
beforeAll(async () => {
  // The redirect corpus makes hundreds of checkouts for one person: the per-person limit is tested on its own.
  t = await startTestServer({ BILLING_ACTIONS_PER_MINUTE: '10000' });
});
afterAll(() => t.close());

async function paidUser(plan: string) {
  const login = (await call('POST', `${t.api}/auth/demo`)).body;
  const checkout = await call('POST', `${t.api}/billing/checkout`, { token: login.access_token, body: { plan_id: plan } });
  await payOnHostedPage(t, checkout.body.url);
  await call('POST', `${t.api}/billing/checkout/success`, { token: login.access_token, body: { session_id: checkout.body.session_id } });
  const invoices = await call('GET', `${t.api}/billing/invoices`, { token: login.access_token });
  return {
    token: login.access_token as string,
    id: login.user.id as string,
    session: checkout.body.session_id as string,
    invoice: invoices.body[0].id as string,
  };
}

describe('authorization', () => {
  it('user A never reads or changes what belongs to B, through any procedure', async () => {
    const a = await paidUser('premium_monthly');
    const b = await paidUser('vip_monthly');
    const bOpen = await call('POST', `${t.api}/auth/demo`);
    const leaks: string[] = [];
    const attempts: Array<[string, () => Promise<{ status: number; body: any }>, (r: { status: number; body: any }) => boolean]> = [
      ['subscription.get', () => call('GET', `${t.api}/billing/subscription`, { token: a.token }), (r) => r.body.tier === 'vip_monthly'],
      [
        'invoices.list',
        () => call('GET', `${t.api}/billing/invoices`, { token: a.token }),
        (r) => r.body.some((i: { id: string }) => i.id === b.invoice),
      ],
      [
        'invoices.list cursor',
        () => call('GET', `${t.api}/billing/invoices?starting_after=${b.invoice}`, { token: a.token }),
        (r) => r.status === 200,
      ],
      [
        'checkout.confirm',
        () => call('POST', `${t.api}/billing/checkout/success`, { token: a.token, body: { session_id: b.session } }),
        (r) => r.status !== 404,
      ],
      [
        'checkout.cancel',
        () => call('POST', `${t.api}/billing/checkout/cancel`, { token: a.token, body: { session_id: b.session } }),
        (r) => r.status !== 404,
      ],
      ['subscription.cancel', () => call('POST', `${t.api}/billing/subscription/cancel`, { token: a.token, body: {} }), () => false],
      [
        'subscription.change',
        () => call('POST', `${t.api}/billing/subscription/change`, { token: a.token, body: { plan_id: 'enterprise_monthly' } }),
        () => false,
      ],
      ['portal.create', () => call('POST', `${t.api}/billing/portal`, { token: bOpen.body.access_token, body: {} }), () => false],
    ];
    for (const [name, run, leaked] of attempts) {
      const res = await run();
      if (leaked(res)) leaks.push(name);
    }
    // A's own actions changed only A: B is still on VIP, not set to cancel.
    const bView = await call('GET', `${t.api}/billing/subscription`, { token: b.token });
    if (bView.body.tier !== 'vip_monthly' || bView.body.cancel_at_period_end) leaks.push('b-changed');
    // The portal is always for the caller's own customer.
    const customers = await t.server.database.db.selectFrom('stripe_customers').selectAll().execute();
    const portals = [...(t.server.emulator?.state.portalSessions.values() ?? [])];
    for (const p of portals) {
      const owner = customers.find((c) => c.stripe_customer_id === p.customer)?.user_id;
      if (!owner) leaks.push('portal-without-owner');
    }
    figure('authorization-cross-user', { procedures: attempts.length, leaks: leaks.length });
    expect(leaks).toEqual([]);
  });

  it('open-redirect corpus and fuzzed URLs: 0 bypasses', async () => {
    const allowed = normaliseOrigins(['https://app.example.com', 'http://localhost:5173']);
    const corpus = [
      '//evil.com',
      '///evil.com',
      'https://app.example.com.evil.com/',
      'https://app.example.com@evil.com/',
      'https://evil.com#@app.example.com',
      'https://evil.com?https://app.example.com',
      'https://app.example.com\\@evil.com',
      'https:\\\\evil.com',
      'javascript:alert(1)',
      'data:text/html,hi',
      'https://аpp.example.com/',
      'https://app.exаmple.com/',
      'https://app.example.com:8443/',
      'http://app.example.com/',
      'https://app.example.com.',
      'https://user:pass@app.example.com/',
      ' https://app.example.com/',
      'https://app.example.com/\nLocation: https://evil.com',
      'https://evil.com/https://app.example.com',
      'http://localhost:5174/',
      'http://127.0.0.1:5173/',
      'ftp://app.example.com/',
      'https:/app.example.com',
      'https://%61pp.example.com/',
    ];
    let bypasses = 0;
    for (const url of corpus) {
      try {
        checkRedirect(url, allowed, 'success_url');
        bypasses += 1;
      } catch {
        // refused, as it should be
      }
    }
    // Over HTTP as well: every corpus entry gets 400.
    const login = (await call('POST', `${t.api}/auth/demo`)).body;
    const httpStatuses = await Promise.all(
      corpus.map((u) =>
        call('POST', `${t.api}/billing/checkout`, { token: login.access_token, body: { plan_id: 'premium_monthly', success_url: u } }).then(
          (r) => r.status,
        ),
      ),
    );
    const fuzzRuns = scale(10_000, 100_000);
    let fuzzBypasses = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.webUrl({ withQueryParameters: true, withFragments: true }),
          fc.string(),
          fc.webUrl().map((u) => u.replace('://', '://app.example.com@')),
          fc.webUrl().map((u) => `${u}\\@app.example.com`),
        ),
        (url) => {
          let accepted = false;
          try {
            checkRedirect(url, allowed, 'success_url');
            accepted = true;
          } catch {
            accepted = false;
          }
          if (accepted) {
            const u = new URL(url);
            const fine = allowed.has(u.origin) && !u.username && !u.password;
            if (!fine) fuzzBypasses += 1;
          }
        },
      ),
      { numRuns: fuzzRuns, seed: 7 },
    );
    figure('open-redirects', {
      corpus: corpus.length,
      corpus_bypasses: bypasses,
      http_refused_400: httpStatuses.filter((s) => s === 400).length,
      fuzzed: fuzzRuns,
      fuzz_bypasses: fuzzBypasses,
    });
    expect(bypasses).toBe(0);
    expect(httpStatuses.every((s) => s === 400)).toBe(true);
    expect(fuzzBypasses).toBe(0);
  });
});
