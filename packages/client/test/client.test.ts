import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseEnv, type RunningServer, startServer } from '@miniapp-billing/api';
import { createTestDatabase } from '@miniapp-billing/billing-core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billingErrorOf, createBillingClient, hasFeature, isUnauthorized, limit } from '../src/index.ts';

let server: RunningServer;
let close: () => Promise<void>;
beforeAll(async () => {
  const database = await createTestDatabase({ postgres: !!process.env.TEST_DATABASE_URL, url: process.env.TEST_DATABASE_URL });
  server = await startServer(
    parseEnv({
      PORT: '0',
      STRIPE_EMULATOR_PORT: '0',
      TELEGRAM_EMULATOR_PORT: '0',
      DATA_DIR: mkdtempSync(path.join(tmpdir(), 'client-test-')),
      LOG_LEVEL: 'silent',
    }),
    { database },
  );
  close = async () => {
    await server.close();
    await database.close();
  };
});
afterAll(() => close());

describe('createBillingClient against a running server', () => {
  it('signs in, reads the plan, starts checkout and sees the paid plan', async () => {
    let token: string | null = null;
    const client = createBillingClient({ url: server.url, getToken: () => token });
    const login = await client.auth.demo.mutate();
    token = login.access_token;
    const [plans, sub] = await Promise.all([client.billing.plans.list.query(), client.billing.subscription.get.query()]);
    expect(plans.map((p) => p.plan_id)).toContain('vip_monthly');
    expect(sub.tier).toBe('free');
    const checkout = await client.billing.checkout.create.mutate({ plan_id: 'vip_monthly' });
    await fetch(`${server.emulator?.url}/_emulator/checkout/sessions/${checkout.session_id}/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const confirmed = await client.billing.checkout.confirm.mutate({ session_id: checkout.session_id });
    expect(confirmed.subscription).toMatchObject({ tier: 'vip_monthly', status: 'active' });
    // What the paid plan lets this person do, with the typed helpers.
    const entitlements = await client.billing.entitlements.get.query();
    expect(entitlements).toMatchObject({ plan_id: 'vip_monthly', has_access: true, rail: 'stripe' });
    expect(hasFeature(entitlements, 'export_pdf')).toBe(true);
    expect(hasFeature(entitlements, 'sso')).toBe(false);
    expect(hasFeature(entitlements, 'time_travel')).toBe(false);
    expect(limit(entitlements, 'seats')).toBe(5);
    expect(limit(entitlements, 'projects')).toBe(Number.POSITIVE_INFINITY);
    expect(limit(entitlements, 'unknown')).toBe(0);
  });

  it('gives callers the codes they branch on', async () => {
    const anonymous = createBillingClient({ url: server.url });
    const err = await anonymous.billing.subscription.get.query().catch((e: unknown) => e);
    expect(isUnauthorized(err)).toBe(true);
    expect(billingErrorOf(err)).toMatchObject({ code: 'UNAUTHORIZED', httpStatus: 401, requestId: expect.any(String) });

    const login = await anonymous.auth.demo.mutate();
    const client = createBillingClient({ url: server.url, getToken: () => login.access_token });
    const unknown = await client.billing.checkout.create.mutate({ plan_id: 'gold' }).catch((e: unknown) => e);
    expect(billingErrorOf(unknown)).toMatchObject({ code: 'BAD_REQUEST', reason: 'UNKNOWN_PLAN', message: 'Unknown plan: gold' });

    const offline = createBillingClient({ url: 'http://127.0.0.1:9' });
    expect(billingErrorOf(await offline.billing.plans.list.query().catch((e: unknown) => e)).code).toBe('NETWORK_ERROR');
  });

  it('a call with an idempotency key goes alone with its header, and a retry gets the same session back', async () => {
    const seen: Array<{ url: string; key: string | null }> = [];
    const recording: typeof fetch = (input, init) => {
      seen.push({ url: String(input), key: new Headers(init?.headers).get('idempotency-key') });
      return fetch(input, init);
    };
    let token: string | null = null;
    const client = createBillingClient({ url: server.url, getToken: () => token, fetch: recording });
    token = (await client.auth.demo.mutate()).access_token;
    const key = `intent-${Date.now()}`;
    const [first, plans] = await Promise.all([
      client.billing.checkout.create.mutate({ plan_id: 'premium_monthly' }, { context: { idempotencyKey: key } }),
      client.billing.plans.list.query(),
    ]);
    const again = await client.billing.checkout.create.mutate({ plan_id: 'premium_monthly' }, { context: { idempotencyKey: key } });
    expect(again).toEqual(first);
    expect(plans.length).toBeGreaterThan(0);
    const keyed = seen.filter((r) => r.key === key);
    expect(keyed).toHaveLength(2);
    expect(keyed.every((r) => r.url.includes('/trpc/billing.checkout.create') && !r.url.includes(','))).toBe(true);
    const conflict = await client.billing.checkout.create
      .mutate({ plan_id: 'vip_monthly' }, { context: { idempotencyKey: key } })
      .catch((e: unknown) => e);
    expect(billingErrorOf(conflict)).toMatchObject({ code: 'CONFLICT', reason: 'IDEMPOTENCY_CONFLICT' });
  });
});
