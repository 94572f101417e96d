import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { makeWorkerUtils, run } from 'graphile-worker';
import pg from 'pg';
import PgBoss from 'pg-boss';

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
      customer: async () => {
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

  // graphile-worker 0.17: named queue + job key per customer; a worker killed while running jobs.
  {
    const schema = `q_graphile_${randomUUID().slice(0, 8)}`;
    const utils = await makeWorkerUtils({ connectionString: url, schema });
    await utils.migrate();
    for (let i = 0; i < 4; i++) await utils.addJob('customer', { n: i }, { queueName: `cus_${i}`, jobKey: `cus_${i}` });
    const child: ChildProcess = fork(here, ['graphile-child', schema], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    let took = 0;
    child.on('message', () => {
      took += 1;
    });
    while (took < 4) await wait(50);
    child.kill('SIGKILL');
    let rerun = 0;
    const started = Date.now();
    const runner = await run({
      connectionString: url,
      schema,
      concurrency: 4,
      pollInterval: 100,
      noHandleSignals: true,
      taskList: {
        customer: async () => {
          rerun += 1;
        },
      },
    });
    await wait(20_000);
    await runner.stop();
    await utils.release();
    lines.push(
      `graphile-worker 0.17.3 (queueName and jobKey = customer): a worker killed with SIGKILL while running 4 customers' jobs; a new worker re-ran ${rerun} of them in ${Math.round((Date.now() - started) / 1000)} s (its documented lock timeout is 4 hours).`,
    );
    await admin.query(`drop schema if exists ${schema} cascade`);
  }
  await admin.end();
  for (const line of lines) console.log(`- ${line}`);
  process.exit(0);
}
