import { type DatabaseHandle, DEFAULT_CATALOG, PlanCatalog, startStripeEventWorker, systemClock } from '@miniapp-billing/billing-core';
import { createTestDatabase } from '@miniapp-billing/billing-core/testing';
import { sql } from 'kysely';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// PostgreSQL only (listed by the api project when TEST_DATABASE_URL is set): graphile-worker holds a
// dead worker's lock for four hours; the runners' liveness sweep must hand its jobs to the living
// within a lease, and must never take a job from a worker that is still alive.

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
