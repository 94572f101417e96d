import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '@miniapp-billing/billing-core/testing';
import { type RunningEmulator, startEmulator } from '@miniapp-billing/stripe-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOT_TOKEN, call, initDataFor, JWT_SECRET } from './helpers.ts';
import { figure } from './reliability/figures.ts';

// PostgreSQL only (listed by the api project when TEST_DATABASE_URL is set): 3 API processes and 2
// workers, real processes on one database, behind a round-robin proxy on loopback; one of each is
// killed with SIGKILL in the middle of a burst.
const root = fileURLToPath(new URL('../../../', import.meta.url));
// Node itself, with tsx as a loader: the process we kill is the process that serves.
const SECRET = 'whsec_multi_process_tests_secret';
const USERS = Number(process.env.MULTI_PROCESS_USERS ?? 24);

interface Proc {
  name: string;
  out: string;
  child: ChildProcess;
  port?: number;
  dead: boolean;
}

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let emulator: RunningEmulator;
let proxy: Server;
let proxyUrl = '';
const procs: Proc[] = [];

function spawnProcess(name: string, script: string, env: Record<string, string>, ready: RegExp): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${root}packages/api/src/${script}`], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc: Proc = { name, child, dead: false, out: '' };
    procs.push(proc);
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${proc.out.slice(-2000)}`)), 60_000);
    let started = false;
    const onData = (chunk: Buffer) => {
      proc.out = (proc.out + chunk.toString()).slice(-20_000);
      const m = started ? null : ready.exec(proc.out);
      if (m) {
        started = true;
        clearTimeout(timer);
        if (m[1]) proc.port = Number(m[1]);
        resolve(proc);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', () => {
      proc.dead = true;
    });
  });
}

/** Round-robin over the API processes; a backend that refuses the connection is skipped (a load balancer's health check). */
function startProxy(): Promise<void> {
  let next = 0;
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const apis = procs.filter((p) => p.name.startsWith('api') && !p.dead && p.port);
      const attempt = (tries: number) => {
        const target = apis[next++ % apis.length];
        if (!target || tries > apis.length) {
          res.writeHead(502).end();
          return;
        }
        const upstream = request(
          { host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        upstream.on('error', () => {
          if (!res.headersSent) attempt(tries + 1);
        });
        upstream.end(body);
      };
      attempt(0);
    });
  });
  return new Promise((r) =>
    proxy.listen(0, '127.0.0.1', () => {
      proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      r();
    }),
  );
}

beforeAll(async () => {
  database = await createTestDatabase({ postgres: true, url: process.env.TEST_DATABASE_URL });
  await startProxy();
  emulator = await startEmulator({
    port: 0,
    webhook: { url: `${proxyUrl}/api/v1/billing/webhooks/stripe`, secret: SECRET },
    webhookOptions: { retryDelaysMs: [100, 300, 1000, 2000, 4000], timeoutMs: 10_000 },
  });
  const common = {
    NODE_ENV: 'development',
    DATABASE_URL: process.env.TEST_DATABASE_URL as string,
    DATABASE_SCHEMA: database.schema,
    DB_POOL_SIZE: '4',
    STRIPE_SECRET_KEY: 'sk_test_multi_process',
    STRIPE_API_BASE: emulator.url,
    STRIPE_WEBHOOK_SECRET: SECRET,
    JWT_SECRET,
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    APP_URL: 'https://app.example.com',
    BILLING_ACTIONS_PER_MINUTE: '1000',
    EVENT_WORKER_LEASE_MS: '3000',
    EVENT_WORKER_POLL_MS: '100',
    LOG_LEVEL: 'info',
  };
  await Promise.all([
    ...[1, 2, 3].map((i) =>
      spawnProcess(`api${i}`, 'main.ts', { ...common, PORT: '0', EVENT_WORKERS: '0' }, /running at http:\/\/127\.0\.0\.1:(\d+)/),
    ),
    ...[1, 2].map((i) => spawnProcess(`worker${i}`, 'worker.ts', { ...common, EVENT_WORKERS: '2' }, /"msg":"worker started"/)),
  ]);
}, 120_000);

afterAll(async () => {
  for (const p of procs) if (!p.dead) p.child.kill('SIGKILL');
  await emulator?.close();
  await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
  await database?.close();
});

describe('several processes on one PostgreSQL', () => {
  it('3 API processes and 2 workers, one of each killed mid-burst: nothing lost, nothing applied twice', async () => {
    const api = `${proxyUrl}/api/v1`;
    const kill = (name: string) => {
      const p = procs.find((x) => x.name === name);
      p?.child.kill('SIGKILL');
      if (p) p.dead = true;
    };
    const people = await Promise.all(
      Array.from({ length: USERS }, async (_, i) => {
        const res = await call('POST', `${api}/auth/telegram`, {
          body: { init_data: initDataFor({ id: 7_000_000 + i, first_name: `P${i}` }) },
        });
        expect(res.status).toBe(200);
        return res.body as { access_token: string; user: { id: string } };
      }),
    );
    const started = Date.now();
    let killed = false;
    await Promise.all(
      people.map(async (person, i) => {
        const key = `intent-${person.user.id}`;
        // A checkout, retried with the same key if the process answering it dies.
        let checkout: Awaited<ReturnType<typeof call>> | undefined;
        for (let attempt = 0; attempt < 5 && checkout?.status !== 201; attempt++) {
          checkout = await call('POST', `${api}/billing/checkout`, {
            token: person.access_token,
            body: { plan_id: i % 2 ? 'vip_monthly' : 'premium_monthly' },
            headers: { 'idempotency-key': key },
          });
        }
        expect(checkout?.status).toBe(201);
        const paid = await fetch(`${emulator.url}/_emulator/checkout/sessions/${checkout?.body.session_id}/complete`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        expect(paid.status).toBe(200);
        if (i === Math.floor(USERS / 2) && !killed) {
          killed = true;
          kill('api2');
          kill('worker1');
        }
        if (i % 3 === 0) {
          let cancel: Awaited<ReturnType<typeof call>> | undefined;
          // The mirror may not have the subscription yet: the change waits for Stripe's word.
          for (let attempt = 0; attempt < 20 && cancel?.status !== 200; attempt++) {
            cancel = await call('POST', `${api}/billing/subscription/cancel`, { token: person.access_token, body: {} });
            if (cancel.status !== 200) await new Promise((r) => setTimeout(r, 250));
          }
          expect(cancel?.status).toBe(200);
        }
      }),
    );
    // A month later: renewals for everyone, each one more round of events.
    await fetch(`${emulator.url}/_emulator/clock/advance`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ seconds: 31 * 86_400 }),
    });
    await emulator.webhooksIdle();
    const db = database.db;
    const emitted = [...emulator.state.events.values()].filter((e) => {
      const o = e.data.object as { object?: string; customer?: string };
      return typeof o.customer === 'string' || o.object === 'customer';
    });
    const unsettled = async () => {
      const rows = await db.selectFrom('stripe_events').select(['event_id', 'status']).execute();
      const done = new Set(rows.filter((r) => r.status === 'processed' || r.status === 'ignored').map((r) => r.event_id));
      return emitted.filter((e) => !done.has(e.id)).length;
    };
    await expect
      .poll(unsettled, { timeout: 60_000, interval: 250 })
      .toBe(0)
      .catch(async (err) => {
        const rows = await db.selectFrom('stripe_events').select(['status', 'last_error']).execute();
        const counts: Record<string, number> = {};
        for (const r of rows) counts[`${r.status}:${r.last_error ?? ''}`] = (counts[`${r.status}:${r.last_error ?? ''}`] ?? 0) + 1;
        console.error('unsettled events by status', JSON.stringify(counts), 'emitted', emitted.length, 'stored', rows.length);
        for (const p of procs) console.error(p.name, p.dead ? 'dead' : 'alive', p.out.slice(-3000));
        throw err;
      });
    const settledMs = Date.now() - started;

    // The mirror equals Stripe for every person.
    let mismatched = 0;
    for (const person of people) {
      const local = await db.selectFrom('subscriptions').selectAll().where('user_id', '=', person.user.id).execute();
      const customer = (
        await db.selectFrom('stripe_customers').select('stripe_customer_id').where('user_id', '=', person.user.id).executeTakeFirst()
      )?.stripe_customer_id;
      const remote = [...emulator.state.subscriptions.values()].filter((s) => s.customer === customer);
      const key = (id: string, status: string, cape: boolean) => `${id}|${status}|${cape}`;
      const a = remote.map((s) => key(s.id, s.status, s.cancel_at_period_end)).sort();
      const b = local.map((s) => key(s.stripe_subscription_id, s.status, s.cancel_at_period_end)).sort();
      if (JSON.stringify(a) !== JSON.stringify(b) || remote.length !== 1) mismatched += 1;
    }
    const sessions = emulator.requests.filter(
      (r) => r.method === 'POST' && r.path === '/v1/checkout/sessions' && r.status === 200 && !r.replayed,
    );
    const notices = await db
      .selectFrom('billing_notifications')
      .select(['kind', 'stripe_subscription_id'])
      .where('kind', '=', 'plan_activated')
      .execute();
    const dead = await db.selectFrom('stripe_events').select('event_id').where('status', '=', 'dead').execute();
    const activatedTwice = notices.length - new Set(notices.map((n) => n.stripe_subscription_id)).size;
    const lost = await unsettled();
    figure('multi-process', {
      api_processes: 3,
      workers: 2,
      killed: 'api2,worker1',
      users: USERS,
      events: emitted.length,
      checkout_sessions: sessions.length,
      lost,
      dead: dead.length,
      mismatched_users: mismatched,
      activation_notices: notices.length,
      activated_twice: activatedTwice,
      settled_ms: settledMs,
    });
    expect(
      procs
        .filter((p) => p.dead)
        .map((p) => p.name)
        .sort(),
    ).toEqual(['api2', 'worker1']);
    expect(lost).toBe(0);
    expect(dead).toHaveLength(0);
    expect(mismatched).toBe(0);
    expect(sessions).toHaveLength(USERS);
    expect(notices).toHaveLength(USERS);
    expect(activatedTwice).toBe(0);
  }, 180_000);
});
