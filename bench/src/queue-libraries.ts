import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  createDatabase,
  DEFAULT_CATALOG,
  migrateDatabase,
  PlanCatalog,
  startStripeEventWorker,
  systemClock,
} from '@miniapp-billing/billing-core';
import { run } from 'graphile-worker';
import { sql } from 'kysely';
import pg from 'pg';
import PgBoss from 'pg-boss';
import Stripe from 'stripe';

// `pnpm --filter @miniapp-billing/bench queues`: the two well-kept PostgreSQL job queues, at the newest
// versions that run on Node 20.19 (pg-boss 11+ and graphile-worker 0.18 need Node 22), tried against
// what the Stripe event queue must do: run one customer's work in order while other customers'
// work goes on, and take over the work of a worker killed with SIGKILL. Loopback PostgreSQL only.
const url = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const here = fileURLToPath(import.meta.url);

if (process.argv[2] === 'graphile-child') {
  // A graphile-worker process that takes its jobs and never finishes them (it is killed).
  const schema = process.argv[3] as string;
  await run({
    connectionString: url,
    schema,
    concurrency: 4,
    pollInterval: 100,
    noHandleSignals: true,
    taskList: {
      stripe_customer_events: async () => {
        process.send?.('took');
        await new Promise(() => undefined);
      },
    },
  });
} else {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const lines: string[] = [];

  // pg-boss 10: a `stately` queue keyed by customer gives one active job per customer.
  {
    const schema = `q_pgboss_${randomUUID().slice(0, 8)}`;
    const boss = new PgBoss({ connectionString: url, schema, supervise: false, schedule: false });
    boss.on('error', () => undefined);
    await boss.start();
    await boss.createQueue('customer', { name: 'customer', policy: 'stately' });
    await boss.send('customer', { n: 1 }, { singletonKey: 'cus_busy' });
    const [busy] = await boss.fetch('customer');
    // While the busy customer's job runs, a new event of theirs queues one more job; then 20 other customers'.
    await boss.send('customer', { n: 2 }, { singletonKey: 'cus_busy' });
    for (let i = 0; i < 20; i++) await boss.send('customer', { n: 3 + i }, { singletonKey: `cus_other_${i}` });
    const fetched = await boss.fetch('customer', { batchSize: 20 });
    lines.push(
      `pg-boss 10.4.2 (stately, singletonKey = customer): while one customer's job is active and another of theirs waits, fetch(20) over 20 other customers' jobs returned ${fetched.length} (head-of-line: ${fetched.length === 0 ? 'yes' : 'no'}); the busy job was ${busy ? 'active' : 'not fetched'}.`,
    );
    await boss.stop({ graceful: false, wait: false });
    await admin.query(`drop schema if exists ${schema} cascade`);
  }

  // graphile-worker 0.17, as production runs it: the customer's named queue and job key; a worker
  // killed with SIGKILL while running 4 customers' jobs. First a plain runner, then ours.
  {
    const schema = `q_graphile_${randomUUID().slice(0, 8)}`;
    const database = await createDatabase({ url, schema, poolSize: 4 });
    await migrateDatabase(database);
    const queue = database.queue;
    if (queue.kind !== 'graphile-worker') throw new Error('expected graphile-worker on PostgreSQL');
    // Adds 4 customers' jobs, lets a graphile-worker process take them all, then kills it (SIGKILL).
    const killWhileRunning = async (round: string) => {
      for (let i = 0; i < 4; i++) {
        const c = `cus_bench_${round}_${i}`;
        await sql`select ${sql.id(queue.schema, 'add_job')}('stripe_customer_events', json_build_object('customer', ${c}::text), queue_name => ${c}::text, job_key => ${c}::text)`.execute(
          database.db,
        );
      }
      const child: ChildProcess = fork(here, ['graphile-child', queue.schema], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
      let took = 0;
      child.on('message', () => {
        took += 1;
      });
      while (took < 4) await wait(50);
      child.kill('SIGKILL');
      return Date.now();
    };
    await killWhileRunning('a');
    const waiting = async () =>
      Number((await sql<{ n: string }>`select count(*) as n from ${sql.id(queue.schema, 'jobs')}`.execute(database.db)).rows[0]?.n ?? 0);

    let rerun = 0;
    const plain = await run({
      connectionString: url,
      schema: queue.schema,
      concurrency: 4,
      pollInterval: 100,
      noHandleSignals: true,
      taskList: {
        stripe_customer_events: async () => {
          rerun += 1;
        },
      },
    });
    await wait(10_000);
    await plain.stop();
    lines.push(
      `graphile-worker 0.17.3 alone (queueName and jobKey = customer): a worker killed with SIGKILL while running 4 customers' jobs; a new runner re-ran ${rerun} of them in 10 s (its lock on a dead worker's job lasts 4 hours).`,
    );

    // This project's runner: its liveness sweep unlocks the jobs of a worker unseen for a lease.
    const leaseMs = 2_000;
    const stripe = new Stripe('sk_test_never_called', { host: '127.0.0.1', port: 9, protocol: 'http', maxNetworkRetries: 0 });
    const killedAt = await killWhileRunning('b');
    const ours = startStripeEventWorker(
      { db: database.db, queue, stripe, clock: systemClock, plans: new PlanCatalog(stripe, DEFAULT_CATALOG) },
      { concurrency: 4, leaseMs, pollMs: 100 },
    );
    while ((await waiting()) > 0 && Date.now() - killedAt < 30_000) await wait(50);
    const left = await waiting();
    const tookMs = Date.now() - killedAt;
    await ours.stop();
    lines.push(
      `graphile-worker 0.17.3 with this project's liveness sweep (EVENT_WORKER_LEASE_MS=${leaseMs}): a second worker killed the same way; a runner of ours started after the kill ran all 8 killed jobs again ${left === 0 ? `within ${(tookMs / 1000).toFixed(1)} s of the second kill` : `— no: ${left} still waiting after 30 s`}.`,
    );
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.query(`drop schema if exists ${queue.schema} cascade`);
    await database.close();
  }
  await admin.end();
  for (const line of lines) console.log(`- ${line}`);
  process.exit(0);
}
