import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Realism, type RunningEmulator, startEmulator } from '@miniapp-billing/stripe-emulator';
import { emulatorControl, sdkFor } from '@miniapp-billing/stripe-emulator/testing';
import type Stripe from 'stripe';
import {
  type BillingConfig,
  type BillingDeps,
  createUser,
  type DatabaseHandle,
  DEFAULT_CATALOG,
  PlanCatalog,
  receiveStripeWebhook,
  runStripeEventJobs,
  type StripeEventWorker,
  startStripeEventWorker,
  type User,
} from '../src/index.ts';
import { createTestDatabase } from '../src/testing.ts';

export const WEBHOOK_SECRET = 'whsec_billing_core_tests';

/** A fresh database for one test file: on the PostgreSQL server in TEST_DATABASE_URL when set, else PGlite. */
export function testDatabase(): Promise<DatabaseHandle> {
  return createTestDatabase({ postgres: !!process.env.TEST_DATABASE_URL, url: process.env.TEST_DATABASE_URL });
}

export function testConfig(overrides: Partial<BillingConfig> = {}): BillingConfig {
  return {
    catalog: DEFAULT_CATALOG,
    appUrl: 'https://app.example.com',
    allowedRedirectOrigins: ['http://localhost:5173'],
    pastDueGraceSeconds: 3 * 86_400,
    webhookSecrets: [WEBHOOK_SECRET],
    webhookToleranceSeconds: 300,
    livemode: false,
    ...overrides,
  };
}

export function stripeFor(emulator: RunningEmulator, options: Stripe.StripeConfig = {}): Stripe {
  return sdkFor(emulator, { timeout: 5_000, ...options }, 'sk_test_billing_core');
}

export interface Harness {
  deps: BillingDeps;
  database: DatabaseHandle;
  emulator: RunningEmulator;
  /** The emulator's control API. */
  control(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  newUser(name?: string): Promise<User>;
  /** Applies every stored event that is due (the worker's job, done now). */
  drain(): Promise<number>;
  /** With `webhooks: true`: waits until the emulator delivered everything and the worker applied it. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Real parts for a test file: a migrated database, the emulator over HTTP, the real SDK. With
 * `webhooks: true` the emulator delivers signed webhooks to a small HTTP endpoint that calls
 * `receiveStripeWebhook` (500 when it throws, as the API route does), and a worker applies them.
 */
export async function harness(
  options: { webhooks?: boolean; stripe?: Stripe.StripeConfig; config?: Partial<BillingConfig>; realism?: Realism } = {},
): Promise<Harness> {
  const database = await testDatabase();
  let sink: Server | undefined;
  let sinkUrl = '';
  let depsRef: BillingDeps | undefined;
  let worker: StripeEventWorker | undefined;
  if (options.webhooks) {
    sink = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        receiveStripeWebhook(depsRef as BillingDeps, Buffer.concat(chunks), req.headers['stripe-signature'])
          .then(() => {
            res.writeHead(200).end('{"received":true}');
            worker?.wake();
          })
          .catch(() => res.writeHead(500).end());
      });
    });
    await new Promise<void>((r) => sink?.listen(0, '127.0.0.1', r));
    sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/`;
  }
  const emulator = await startEmulator({
    port: 0,
    ...(options.webhooks ? { webhook: { url: sinkUrl, secret: WEBHOOK_SECRET } } : {}),
    webhookOptions: { retryDelaysMs: [20, 50, 100, 200], timeoutMs: 10_000 },
    ...(options.realism ? { realism: options.realism } : {}),
  });
  const stripe = stripeFor(emulator, options.stripe);
  const config = testConfig(options.config);
  const plans = new PlanCatalog(stripe, config.catalog);
  await plans.list();
  const deps: BillingDeps = { db: database.db, queue: database.queue, stripe, clock: { now: () => new Date() }, config, plans };
  depsRef = deps;
  const jobOptions = { backoffMs: () => 50 };
  if (options.webhooks) worker = startStripeEventWorker(deps, { ...jobOptions, pollMs: 100 });
  const control = (method: string, path: string, body?: unknown) => emulatorControl(emulator, method, path, body);
  let n = 0;
  return {
    deps,
    database,
    emulator,
    control,
    newUser: (name = `user ${++n}`) => createUser(database.db, { name }),
    drain: () => runStripeEventJobs(deps, jobOptions),
    settle: async () => {
      // Until a round makes Stripe emit nothing more: a run can itself call Stripe (a refund's
      // cancellation), whose events are delivered, stored and applied in the next round.
      for (let emitted = -1; emitted !== emulator.state.events.size; ) {
        emitted = emulator.state.events.size;
        await emulator.webhooksIdle();
        await worker?.idle();
      }
    },
    close: async () => {
      await emulator.close();
      await worker?.stop();
      await new Promise<void>((r) => (sink ? sink.close(() => r()) : r()));
      await database.close();
    },
  };
}

/** Pays a checkout session through the emulator (as the hosted page's Pay button does). */
export async function pay(h: Harness, sessionId: string, outcome: 'succeeded' | 'card_declined' = 'succeeded') {
  const res = await h.control('POST', `/checkout/sessions/${sessionId}/complete`, { outcome });
  if (res.status !== 200) throw new Error(`completing ${sessionId} failed: ${JSON.stringify(res.body)}`);
  return res.body;
}

export const sessionsCreated = (h: Harness) =>
  h.emulator.requests.filter((r) => r.method === 'POST' && r.path === '/v1/checkout/sessions' && r.status === 200 && !r.replayed).length;
