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
  it('connections killed while a worker waits on Stripe: every webhook acknowledged, nothing lost, applied once', async () => {
    const login = (await call('POST', `${t.api}/auth/demo`)).body;
    const checkout = await call('POST', `${t.api}/billing/checkout`, { token: login.access_token, body: { plan_id: 'premium_monthly' } });
    const emulator = t.server.emulator as NonNullable<typeof t.server.emulator>;
    const deliveriesBefore = emulator.webhooks.log.length;
    // Keep the worker on its Stripe re-read, then take the database's connections away meanwhile.
    const reReads = ['/v1/subscriptions/', '/v1/checkout/sessions/', '/v1/invoices/'];
    for (const p of reReads) await t.emulatorControl('POST', '/faults', { method: 'GET', path: `${p}*`, delay_ms: 1500, count: 1 });
    const reading = () => emulator.requests.filter((r) => r.method === 'GET' && reReads.some((p) => r.path.startsWith(p))).length;
    const readsBefore = reading();
    await payOnHostedPage(t, checkout.body.url);
    // The worker is inside a (delayed) Stripe re-read once the emulator has seen the request arrive.
    await expect.poll(reading, { timeout: 10_000, interval: 20 }).toBeGreaterThan(readsBefore);
    const killed = await terminate();
    await emulator.webhooksIdle();
    const deliveries = emulator.webhooks.log.slice(deliveriesBefore);
    const db = t.server.database.db;
    // A customer's events (a promotion code's `customer` is null: the account's, not a person's).
    const emitted = [...emulator.state.events.values()].filter(
      (e) => typeof (e.data.object as { customer?: unknown }).customer === 'string',
    );
    // The worker applies what it stored, retrying with backoff if a write met a dead connection.
    const settled = async () => {
      const rows = await db.selectFrom('stripe_events').select(['event_id', 'status']).execute();
      return emitted.filter((e) => !rows.some((r) => r.event_id === e.id && (r.status === 'processed' || r.status === 'ignored'))).length;
    };
    await expect.poll(settled, { timeout: 20_000, interval: 200 }).toBe(0);
    const view = await call('GET', `${t.api}/billing/subscription`, { token: login.access_token });
    const notices = await db.selectFrom('billing_notifications').selectAll().where('kind', '=', 'plan_activated').execute();
    const sub = view.body.subscription_id as string;
    figure('db-restart-during-worker', {
      connections_killed: killed,
      deliveries: deliveries.length,
      failed_deliveries: deliveries.filter((d) => d.status !== 200).length,
      lost: await settled(),
      activation_notices: notices.filter((n) => n.stripe_subscription_id === sub).length,
      tier: view.body.tier,
    });
    expect(killed).toBeGreaterThan(0);
    expect(deliveries.length).toBeGreaterThan(0);
    // A receipt whose connection was killed under it is retried once on a fresh one; if that failed
    // too, the answer is a 5xx and Stripe's redelivery is acknowledged.
    const failedEvents = deliveries.filter((d) => d.status !== 200);
    expect(failedEvents.every((d) => d.status === null || d.status >= 500)).toBe(true);
    for (const f of failedEvents) expect(deliveries.some((d) => d.event_id === f.event_id && d.status === 200)).toBe(true);
    expect(view.body).toMatchObject({ tier: 'premium_monthly', status: 'active' });
    expect(notices.filter((n) => n.stripe_subscription_id === sub)).toHaveLength(1);
  });

  it('an exhausted pool answers 503 fast, then recovers', async () => {
    const login = (await call('POST', `${t.api}/auth/demo`)).body;
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    // Every pooled connection taken (each holder says so once it has one), none given back until the answer is in.
    let taken = 0;
    let allTaken: () => void = () => undefined;
    const poolEmpty = new Promise<void>((r) => {
      allTaken = r;
    });
    const holders = Array.from({ length: 3 }, () =>
      t.server.database.db.connection().execute(async () => {
        if (++taken === 3) allTaken();
        await held;
      }),
    );
    await poolEmpty;
    const started = performance.now();
    const during = await call('GET', `${t.api}/billing/subscription`, { token: login.access_token });
    const ms = Math.round(performance.now() - started);
    // Answered while the pool is still empty: a server that waited for a connection would never be
    // answered here (the holders give theirs back only after this), and the test would fail on its timeout.
    release();
    await Promise.all(holders);
    const after = await call('GET', `${t.api}/billing/subscription`, { token: login.access_token });
    figure('db-pool-exhausted', { pool: 3, status_during: during.status, ms_during: ms, status_after: after.status });
    expect(during.status).toBe(503);
    expect(during.body.code).toBe('SERVICE_UNAVAILABLE');
    expect(after.status).toBe(200);
  });
});
