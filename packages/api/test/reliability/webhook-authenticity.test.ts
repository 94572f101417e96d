import { createHmac } from 'node:crypto';
import { signPayload } from '@miniapp-billing/stripe-emulator';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestServer, type TestServer } from '../helpers.ts';
import { figure, scale } from './figures.ts';

const SECRET = 'whsec_reliability_primary_1';
const NEXT = 'whsec_reliability_rotation_2';
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ STRIPE_WEBHOOK_SECRET: `${SECRET},${NEXT}` });
});
afterAll(() => t.close());

const now = () => Math.floor(Date.now() / 1000);
const rows = async () => (await t.server.database.db.selectFrom('stripe_events').select('event_id').execute()).length;
const stripeCalls = () => t.server.emulator?.requests.length ?? 0;
const hmac = (payload: string, secret: string, ts: number) => createHmac('sha256', secret).update(`${ts}.${payload}`).digest('hex');

function post(body: string | Buffer, headers: Record<string, string | string[]>) {
  const h = new Headers({ 'content-type': 'application/json' });
  for (const [k, v] of Object.entries(headers)) for (const value of Array.isArray(v) ? v : [v]) h.append(k, value);
  return fetch(`${t.api}/billing/webhooks/stripe`, { method: 'POST', headers: h, body });
}

const eventBody = (id: string, type = 'customer.subscription.updated', pretty = true) => {
  const event = {
    id,
    object: 'event',
    api_version: '2026-10-28.endive',
    type,
    created: now(),
    livemode: false,
    pending_webhooks: 1,
    request: null,
    data: { object: { id: 'sub_forged', object: 'subscription', customer: 'cus_forged', status: 'active' } },
  };
  return pretty ? JSON.stringify(event, null, 2) : JSON.stringify(event);
};

describe('webhook authenticity', () => {
  it('refuses 18 forged or broken signatures with 400, writing nothing and calling Stripe 0 times', async () => {
    const body = eventBody('evt_forged_1');
    const ts = now();
    const good = hmac(body, SECRET, ts);
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === '0' ? '1' : '0') + s.slice(i + 1);
    const cases: Array<[string, string | Buffer, Record<string, string | string[]>]> = [
      ['missing header', body, {}],
      ['empty header', body, { 'stripe-signature': '' }],
      ['no t', body, { 'stripe-signature': `v1=${good}` }],
      ['only v0', body, { 'stripe-signature': `t=${ts},v0=${good}` }],
      ['another secret', body, { 'stripe-signature': `t=${ts},v1=${hmac(body, 'whsec_attacker_secret', ts)}` }],
      ['one body byte flipped', body.replace('"active"', '"activf"'), { 'stripe-signature': `t=${ts},v1=${good}` }],
      ['one signature nibble flipped', body, { 'stripe-signature': `t=${ts},v1=${flip(good, 10)}` }],
      ['re-serialised body', JSON.stringify(JSON.parse(body)), { 'stripe-signature': `t=${ts},v1=${good}` }],
      ['array header', body, { 'stripe-signature': [`t=${ts},v1=${flip(good, 3)}`, `t=${ts},v1=${flip(good, 5)}`] }],
      ['truncated signature', body, { 'stripe-signature': `t=${ts},v1=${good.slice(0, 40)}` }],
      ['non-numeric t', body, { 'stripe-signature': `t=abc,v1=${good}` }],
      ['t of another time', body, { 'stripe-signature': `t=${ts + 1},v1=${good}` }],
      ['signature of another payload', body, { 'stripe-signature': `t=${ts},v1=${hmac(eventBody('evt_other'), SECRET, ts)}` }],
      ['301 s old', body, { 'stripe-signature': `t=${ts - 301},v1=${hmac(body, SECRET, ts - 301)}` }],
      ['far future', body, { 'stripe-signature': `t=${ts + 86_400},v1=${hmac(body, SECRET, ts + 86_400)}` }],
      ['uppercase hex', body, { 'stripe-signature': `t=${ts},v1=${good.toUpperCase()}` }],
      ['garbage header', body, { 'stripe-signature': ',,,=,=' }],
      ['signed with the secret without whsec_ prefix', body, { 'stripe-signature': `t=${ts},v1=${hmac(body, SECRET.slice(6), ts)}` }],
    ];
    const beforeRows = await rows();
    const beforeCalls = stripeCalls();
    const statuses: number[] = [];
    for (const [label, b, headers] of cases) {
      const res = await post(b, headers);
      statuses.push(res.status);
      expect(res.status, label).toBe(400);
      expect(((await res.json()) as { reason: string }).reason, label).toBe('WEBHOOK_SIGNATURE_INVALID');
    }
    const written = (await rows()) - beforeRows;
    const calls = stripeCalls() - beforeCalls;
    figure('webhook-forged-signatures', {
      cases: cases.length,
      refused_400: statuses.filter((s) => s === 400).length,
      rows_written: written,
      stripe_calls: calls,
    });
    expect(written).toBe(0);
    expect(calls).toBe(0);
  });

  it('timestamp boundaries: 299 s old accepted, 301 s old refused, 299 s ahead accepted, far future refused', async () => {
    const results: Record<string, number> = {};
    for (const [label, offset] of [
      ['minus_299', -299],
      ['minus_301', -301],
      ['plus_299', 299],
      ['plus_3600', 3600],
    ] as const) {
      const body = eventBody(`evt_ts_${label}`, 'product.created');
      const res = await post(body, { 'stripe-signature': signPayload(body, SECRET, now() + offset) });
      results[label] = res.status;
    }
    figure('webhook-timestamp-window', results);
    expect(results).toEqual({ minus_299: 200, minus_301: 400, plus_299: 200, plus_3600: 400 });
  });

  it('accepts both secrets during rotation', async () => {
    const a = eventBody('evt_rot_a', 'product.created');
    const b = eventBody('evt_rot_b', 'product.created');
    const ra = await post(a, { 'stripe-signature': signPayload(a, SECRET) });
    const rb = await post(b, { 'stripe-signature': signPayload(b, NEXT) });
    figure('webhook-secret-rotation', { primary: ra.status, next: rb.status });
    expect([ra.status, rb.status]).toEqual([200, 200]);
  });

  it('a captured delivery replayed has no second effect, and is refused after the window', async () => {
    const body = eventBody('evt_replay_1', 'product.created');
    const captured = signPayload(body, SECRET, now() - 10);
    const first = await post(body, { 'stripe-signature': captured });
    const rowsAfterFirst = await rows();
    const replay = await post(body, { 'stripe-signature': captured });
    const late = await post(body, { 'stripe-signature': signPayload(body, SECRET, now() - 400) });
    figure('webhook-replay', {
      first: first.status,
      replay: replay.status,
      replay_effect_rows: (await rows()) - rowsAfterFirst,
      after_window: late.status,
    });
    expect(await replay.json()).toMatchObject({ received: true, duplicate: true });
    expect((await rows()) - rowsAfterFirst).toBe(0);
    expect(late.status).toBe(400);
  });

  it('refuses a body over 1 MB with 413 before verifying it', async () => {
    const big = Buffer.alloc(1024 * 1024 + 1, 0x20);
    const started = performance.now();
    const res = await post(big, { 'stripe-signature': signPayload(big.toString(), SECRET) });
    const ms = performance.now() - started;
    const body = (await res.json()) as { code: string };
    figure('webhook-size-limit', { bytes: big.length, status: res.status, ms: Math.round(ms) });
    expect(res.status).toBe(413);
    expect(body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('signed but malformed payloads never cause an unhandled error', async () => {
    const count = scale(1_000, 10_000);
    const json = fc.oneof(
      fc.json(),
      fc
        .record({
          id: fc.string(),
          object: fc.constant('event'),
          type: fc.string(),
          created: fc.oneof(fc.integer(), fc.string()),
          data: fc.anything(),
        })
        .map((o) => JSON.stringify(o)),
      fc
        .record({
          id: fc.stringMatching(/^evt_[a-z0-9]{4,12}$/),
          type: fc.constantFrom('invoice.paid', 'customer.subscription.updated', 'checkout.session.completed', 'x'),
          created: fc.integer(),
          data: fc.record({ object: fc.anything() }),
        })
        .map((o) => JSON.stringify(o)),
      fc.string(),
    );
    const samples = fc.sample(json, { numRuns: count, seed: 20261126 });
    const statuses = new Map<number, number>();
    const beforeCalls = stripeCalls();
    for (let i = 0; i < samples.length; i += 50) {
      const batch = samples.slice(i, i + 50);
      const res = await Promise.all(batch.map((payload) => post(payload, { 'stripe-signature': signPayload(payload, SECRET) })));
      for (const r of res) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    const unhandled = [...statuses.entries()].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
    figure('webhook-malformed-payloads', {
      payloads: samples.length,
      unhandled_5xx: unhandled,
      statuses: [...statuses.entries()].map(([s, c]) => `${s}x${c}`).join('/'),
      stripe_calls: stripeCalls() - beforeCalls,
    });
    expect(unhandled).toBe(0);
  });

  it('acknowledges unknown event types with 200', async () => {
    const body = eventBody('evt_unknown_kind', 'radar.early_fraud_warning.created');
    const res = await post(body, { 'stripe-signature': signPayload(body, SECRET) });
    figure('webhook-unknown-type', { status: res.status });
    expect(res.status).toBe(200);
    expect((await call('GET', `${t.base}/healthz`)).status).toBe(200);
  });
});
