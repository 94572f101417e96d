import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestServer, type TestServer } from '../helpers.ts';
import { figure } from './figures.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const counts = async () => {
  const db = t.server.database.db;
  const n = async (table: 'users' | 'stripe_customers' | 'subscriptions' | 'invoices' | 'checkout_sessions' | 'stripe_events') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    users: await n('users'),
    customers: await n('stripe_customers'),
    subs: await n('subscriptions'),
    invoices: await n('invoices'),
    sessions: await n('checkout_sessions'),
    events: await n('stripe_events'),
  };
};

const huge = 'x'.repeat(70_000);
const values: unknown[] = [
  null,
  0,
  -1,
  1.5,
  true,
  [],
  {},
  '',
  ' ',
  'ünïcödé ✓ 😀',
  '\u0000\u202e',
  huge.slice(0, 5000),
  `cs_test_${'a'.repeat(300)}`,
  "'; drop table users; --",
  { nested: { deep: [1, 2, 3] } },
];

describe('bad input everywhere', () => {
  it('every REST path and procedure answers wrong types, huge strings, unicode, missing and extra fields with a 4xx and changes nothing', async () => {
    const login = (await call('POST', `${t.api}/auth/demo`)).body;
    const token = login.access_token as string;
    const before = await counts();
    // `{}` is a valid body where every field is optional (portal, cancel, resume): not bad input.
    const optionalOnly = (field: string | null) => field === 'return_url' || field === 'extra';
    const bodies = (field: string | null) => [
      ...values.map((v) => (field ? { [field]: v } : v)),
      ...(optionalOnly(field) ? [] : [{}]),
      { unexpected: true },
      ...(field ? [{ [field]: 'premium_monthly', extra: 1 }] : []),
      huge,
    ];
    const targets: Array<[string, string, string | null]> = [
      ['POST', '/auth/telegram', 'init_data'],
      ['POST', '/billing/checkout', 'plan_id'],
      ['POST', '/billing/checkout/success', 'session_id'],
      ['POST', '/billing/checkout/cancel', 'session_id'],
      ['POST', '/billing/portal', 'return_url'],
      ['POST', '/billing/subscription/change', 'plan_id'],
      ['POST', '/billing/subscription/cancel', 'extra'],
      ['POST', '/billing/subscription/resume', 'extra'],
    ];
    const statuses = new Map<number, number>();
    let fiveXX = 0;
    let total = 0;
    const record = (status: number, label: string) => {
      total += 1;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status >= 500) {
        fiveXX += 1;
        console.error('5xx for', label);
      }
    };
    for (const [method, path, field] of targets) {
      for (const body of bodies(field)) {
        const res = await call(method, `${t.api}${path}`, {
          token,
          body: typeof body === 'string' ? JSON.stringify(body) : body === undefined ? 'null' : JSON.stringify(body),
        });
        record(res.status, `${path} ${JSON.stringify(body)?.slice(0, 60)}`);
        expect(res.body, path).toMatchObject({ code: expect.any(String), message: expect.any(String), request_id: expect.any(String) });
      }
      // Not JSON at all, and the wrong content type.
      record(
        (await call(method, `${t.api}${path}`, { token, body: '{not json', headers: { 'content-type': 'application/json' } })).status,
        `${path} not json`,
      );
      record(
        (await call(method, `${t.api}${path}`, { token, body: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } }))
          .status,
        `${path} form`,
      );
    }
    for (const query of [
      'limit=0',
      'limit=101',
      'limit=-5',
      'limit=abc',
      'limit=1e9',
      'starting_after=nope',
      `starting_after=${'in_'.padEnd(400, 'x')}`,
      'limit=5&limit=6',
      'extra=1',
      `starting_after=${encodeURIComponent('ü😀')}`,
    ]) {
      record((await call('GET', `${t.api}/billing/invoices?${query}`, { token })).status, `invoices ${query}`);
    }
    for (const name of ['billing.checkout.create', 'billing.checkout.confirm', 'billing.subscription.change', 'auth.telegram']) {
      for (const input of values.slice(0, 8)) {
        const res = await fetch(`${t.base}/trpc/${name}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(input),
        });
        record(res.status, `trpc ${name}`);
      }
    }
    const after = await counts();
    // The demo login above is the only user; nothing else may have been stored.
    figure('bad-input', {
      requests: total,
      server_errors_5xx: fiveXX,
      statuses: [...statuses.entries()]
        .sort()
        .map(([s, c]) => `${s}x${c}`)
        .join('/'),
      rows_changed: JSON.stringify(after) === JSON.stringify(before) ? 0 : 1,
    });
    expect(fiveXX).toBe(0);
    expect(after).toEqual(before);
  });
});
