import {
  type BillingConfig,
  type DatabaseHandle,
  DEFAULT_CATALOG,
  PlanCatalog,
  receiptsSettled,
  receiveStripeWebhook,
  runStripeEventJobs,
  startStripeEventWorker,
  systemClock,
} from '@miniapp-billing/billing-core';
import { createTestDatabase } from '@miniapp-billing/billing-core/testing';
import { signPayload } from '@miniapp-billing/stripe-emulator';
import { sql } from 'kysely';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// PostgreSQL only (listed by the api project when TEST_DATABASE_URL is set): graphile-worker holds a
// dead worker's lock for four hours; the runners' liveness sweep must hand its jobs to the living
// within a lease, and must never take a job from a worker that is still alive. A receipt adds its
// customer's job after answering; the same sweep adds the jobs of a receipt that died first.

let database: DatabaseHandle;
beforeAll(async () => {
  database = await createTestDatabase({ postgres: true, url: process.env.TEST_DATABASE_URL });
});
afterAll(() => database?.close());

describe('graphile-worker: a dead worker’s jobs', () => {
  it('go to a live runner within the lease; a live worker’s stay with it', async () => {
    const queue = database.queue;
    if (queue.kind !== 'graphile-worker') throw new Error(`expected the graphile-worker queue on PostgreSQL, got ${queue.kind}`);
    const db = database.db;
    const gw = (table: string) => sql.id(queue.schema, table);
    // Two customers' jobs (no events waiting: a run only finishes), each locked as by a worker
    // mid-run, an hour ago: one worker is gone, the other still writes its heartbeat.
    for (const c of ['cus_of_a_dead_worker', 'cus_of_a_live_worker'])
      await sql`select ${gw('add_job')}('stripe_customer_events', json_build_object('customer', ${c}::text), queue_name => ${c}::text, job_key => ${c}::text)`.execute(
        db,
      );
    const lock = async (customer: string, worker: string) => {
      await sql`update ${gw('_private_jobs')} set locked_by = ${worker}, locked_at = now() - interval '1 hour', attempts = 1 where key = ${customer}`.execute(
        db,
      );
      await sql`update ${gw('_private_job_queues')} set locked_by = ${worker}, locked_at = now() - interval '1 hour' where queue_name = ${customer}`.execute(
        db,
      );
    };
    await lock('cus_of_a_dead_worker', 'worker-killed');
    await lock('cus_of_a_live_worker', 'worker-alive');
    const alive = async () =>
      sql`insert into event_queue_workers (worker_id, seen_at) values ('worker-alive', now())
          on conflict (worker_id) do update set seen_at = now()`.execute(db);
    await alive();
    const heartbeat = setInterval(() => void alive(), 100);

    const stripe = new Stripe('sk_test_never_called', { host: '127.0.0.1', port: 9, protocol: 'http', maxNetworkRetries: 0 });
    const started = Date.now();
    const worker = startStripeEventWorker(
      { db, queue, stripe, clock: systemClock, plans: new PlanCatalog(stripe, DEFAULT_CATALOG) },
      { concurrency: 2, leaseMs: 1_000, pollMs: 100 },
    );
    const jobs = async () =>
      (await sql<{ key: string | null; locked_by: string | null }>`select key, locked_by from ${gw('jobs')} order by key`.execute(db)).rows;
    try {
      await expect
        .poll(async () => (await jobs()).some((j) => j.key === 'cus_of_a_dead_worker'), { timeout: 10_000, interval: 100 })
        .toBe(false);
      const tookOverMs = Date.now() - started;
      // Taken over after about a lease, not four hours.
      expect(tookOverMs).toBeLessThan(5_000);
      // The live worker's job was left alone, past several sweeps.
      await new Promise((r) => setTimeout(r, 1_500));
      expect(await jobs()).toEqual([{ key: 'cus_of_a_live_worker', locked_by: 'worker-alive' }]);
      // This runner's own workers announced themselves.
      const seen = await db.selectFrom('event_queue_workers').select('worker_id').where('worker_id', '!=', 'worker-alive').execute();
      expect(seen.length).toBe(2);
    } finally {
      clearInterval(heartbeat);
      await worker.stop();
    }
  });
});

describe('graphile-worker: events stored without their jobs', () => {
  // Stripe is never reached here: a run that starts reads the customer from Stripe, fails, and says
  // so in the event's attempts. That the attempts moved is what shows a job ran.
  const stripe = new Stripe('sk_test_never_called', { host: '127.0.0.1', port: 9, protocol: 'http', maxNetworkRetries: 0 });
  const eventDeps = () => ({
    db: database.db,
    queue: database.queue,
    stripe,
    clock: systemClock,
    plans: new PlanCatalog(stripe, DEFAULT_CATALOG),
  });
  const attempts = async (id: string) =>
    Number((await database.db.selectFrom('stripe_events').select('attempts').where('event_id', '=', id).executeTakeFirst())?.attempts);
  const jobKeys = async () => {
    const queue = database.queue;
    if (queue.kind !== 'graphile-worker') throw new Error(`expected the graphile-worker queue on PostgreSQL, got ${queue.kind}`);
    return (
      await sql<{ key: string }>`select key from ${sql.id(queue.schema, 'jobs')} where key is not null`.execute(database.db)
    ).rows.map((r) => r.key);
  };

  it('a receipt that died before adding its job: the runners’ sweep adds it within the lease', async () => {
    // What a receipt leaves if its process is killed between storing and enqueuing: the event, no job.
    const id = `evt_unqueued_${Date.now()}`;
    await database.db
      .insertInto('stripe_events')
      .values({
        event_id: id,
        type: 'customer.subscription.updated',
        stripe_created: Math.floor(Date.now() / 1000),
        stripe_customer_id: 'cus_whose_receipt_died',
        object_type: 'subscription',
        object_id: 'sub_whose_receipt_died',
        summary: '{}',
        status: 'pending',
        attempts: 0,
      })
      .execute();
    expect(await jobKeys()).not.toContain('cus_whose_receipt_died');
    const started = Date.now();
    const worker = startStripeEventWorker(eventDeps(), { concurrency: 2, leaseMs: 1_000, pollMs: 100, backoffMs: () => 3_600_000 });
    try {
      await expect.poll(() => attempts(id), { timeout: 10_000, interval: 100 }).toBe(1);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await worker.stop();
    }
  });

  it('a receipt whose job cannot be added is still acknowledged and stored; the job follows', async () => {
    const queue = database.queue;
    if (queue.kind !== 'graphile-worker') throw new Error(`expected the graphile-worker queue on PostgreSQL, got ${queue.kind}`);
    const secret = 'whsec_jobs_deferred_test';
    const deferred: Array<{ customers: number; cause: string }> = [];
    const config = { webhookSecrets: [secret], webhookToleranceSeconds: 300, livemode: false } as unknown as BillingConfig;
    // An observer that itself fails (a logger gone wrong) must not stop later receipts' jobs.
    const jobsDeferred = (d: { customers: number; cause: string }) => {
      deferred.push(d);
      throw new Error('the observer failed too');
    };
    const deps = { ...eventDeps(), config, observer: { jobsDeferred } };
    const signed = (customer: string) => {
      const text = JSON.stringify({
        id: `evt_deferred_${customer}_${Date.now()}`,
        object: 'event',
        type: 'customer.subscription.updated',
        created: Math.floor(Date.now() / 1000),
        livemode: false,
        data: { object: { id: `sub_of_${customer}`, object: 'subscription', customer } },
      });
      return [Buffer.from(text), signPayload(text, secret)] as const;
    };
    const body = signed('cus_of_a_deferred_job');
    const addJobs = sql.id(queue.schema, 'add_jobs');
    const renamed = sql.id(queue.schema, 'add_jobs_switched_off');
    // graphile-worker's add_jobs out of reach: every attempt to add the job fails.
    await sql`alter function ${addJobs} rename to add_jobs_switched_off`.execute(database.db);
    try {
      const receipt = await receiveStripeWebhook(deps, ...body);
      expect(receipt.outcome).toBe('queued');
      await receiptsSettled(database.db);
      expect(await attempts(receipt.eventId)).toBe(0);
      // Said once, with a safe cause (PostgreSQL's code for an undefined function), never a message.
      expect(deferred).toEqual([{ customers: 1, cause: '42883' }]);
      expect(await jobKeys()).not.toContain('cus_of_a_deferred_job');
    } finally {
      await sql`alter function ${renamed} rename to add_jobs`.execute(database.db);
    }
    // The next receipt's job is added as usual.
    await receiveStripeWebhook(deps, ...signed('cus_after_a_deferred_job'));
    await receiptsSettled(database.db);
    expect(await jobKeys()).toContain('cus_after_a_deferred_job');
    expect(deferred).toHaveLength(1);
    // A drain (tests, the CLI) adds the missing job itself and runs it.
    expect(await runStripeEventJobs(eventDeps(), { backoffMs: () => 3_600_000 })).toBeGreaterThanOrEqual(1);
    const stored = await database.db
      .selectFrom('stripe_events')
      .select(['status', 'attempts'])
      .where('event_id', '=', JSON.parse(body[0].toString()).id)
      .executeTakeFirst();
    expect(stored).toEqual({ status: 'failed', attempts: 1 });
  });
});
