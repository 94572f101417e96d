import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, payOnHostedPage, startTestServer, type TestServer } from '../helpers.ts';
import { figure } from './figures.ts';

// PostgreSQL only (listed by the api project when TEST_DATABASE_URL is set).
const APP = `billing-faults-${process.pid}`;
let t: TestServer;
let admin: pg.Client;
beforeAll(async () => {
  t = await startTestServer({}, { poolSize: 3, connectionTimeoutMillis: 500, applicationName: APP });
  admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
});
afterAll(async () => {
  await admin.end();
  await t.close();
});

const terminate = async () =>
  (await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [APP])).rowCount ?? 0;

describe('database faults', () => {
  it('connections killed during webhook processing: 5xx, then processed once on retry, 0 lost', async () => {
    const login = (await call('POST', `${t.api}/auth/demo`)).body;
    const checkout = await call('POST', `${t.api}/billing/checkout`, { token: login.access_token, body: { plan_id: 'premium_monthly' } });
    const emulator = t.server.emulator as NonNullable<typeof t.server.emulator>;
    const deliveriesBefore = emulator.webhooks.log.length;
    // Hold the webhook's transaction open on its Stripe re-read, then take the database away under it.
    await t.emulatorControl('POST', '/faults', { method: 'GET', path: '/v1/subscriptions/*', delay_ms: 1500, count: 1 });
    await payOnHostedPage(t, checkout.body.url);
    await new Promise((r) => setTimeout(r, 700));
    const killed = await terminate();
    await emulator.webhooksIdle();
    const deliveries = emulator.webhooks.log.slice(deliveriesBefore);
    const failed = deliveries.filter((d) => d.status !== 200);
    const events = await t.server.database.db.selectFrom('stripe_events').selectAll().execute();
    const created = events.find((e) => e.type === 'customer.subscription.created');
    const emitted = [...emulator.state.events.values()].filter((e) => (e.data.object as { customer?: string }).customer !== undefined);
    const lost = emitted.filter((e) => !events.some((r) => r.event_id === e.id && r.status !== 'failed')).length;
    const view = await call('GET', `${t.api}/billing/subscription`, { token: login.access_token });
    figure('db-restart-during-webhook', {
      connections_killed: killed,
      failed_deliveries: failed.length,
      failed_status: failed[0]?.status ?? 0,
      retried_ok: deliveries.filter((d) => d.attempt > 1 && d.status === 200).length,
      attempts_on_event: created?.attempts ?? 0,
      lost,
      tier: view.body.tier,
    });
    expect(killed).toBeGreaterThan(0);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((d) => d.status === null || d.status >= 500)).toBe(true);
    expect(lost).toBe(0);
    expect(view.body).toMatchObject({ tier: 'premium_monthly', status: 'active' });
  });

  it('an exhausted pool answers 503 fast, then recovers', async () => {
    const login = (await call('POST', `${t.api}/auth/demo`)).body;
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const holders = Array.from({ length: 3 }, () => t.server.database.db.connection().execute(async () => held));
    await new Promise((r) => setTimeout(r, 100));
    const started = performance.now();
    const during = await call('GET', `${t.api}/billing/subscription`, { token: login.access_token });
    const ms = Math.round(performance.now() - started);
    release();
    await Promise.all(holders);
    const after = await call('GET', `${t.api}/billing/subscription`, { token: login.access_token });
    figure('db-pool-exhausted', { pool: 3, status_during: during.status, ms_during: ms, status_after: after.status });
    expect(during.status).toBe(503);
    expect(during.body.code).toBe('SERVICE_UNAVAILABLE');
    expect(ms).toBeLessThan(2_000);
    expect(after.status).toBe(200);
  });
});
