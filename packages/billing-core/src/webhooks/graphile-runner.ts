import { EventEmitter } from 'node:events';
import { type Runner, run, runOnce, type TaskList, type WorkerEvents } from 'graphile-worker';
import { sql } from 'kysely';
import pg from 'pg';
import { enqueueCustomers, unqueuedCustomers, unqueuedEvents } from './event.repository.ts';
import { CUSTOMER_TASK, type GraphileQueue, graphileFn, graphileJobs } from './event-queue.ts';
import { graphileLogger, QueueProblem } from './graphile-logger.ts';
import {
  type CustomerRun,
  type EventWorkerDeps,
  type LongRunningWorkerOptions,
  runCustomerJob,
  type StripeEventWorker,
  type StripeEventWorkerOptions,
} from './stripe-event-worker.ts';

/**
 * A graphile-worker job as a run over its customer's events. graphile-worker completes the job when
 * the task returns; events that arrived meanwhile already have a job of their own (the job key moved
 * to it when this one was locked), which the customer's named queue runs next. A failed run asks for
 * one more at `runAt` under the same key, so later events still bring it forward.
 */
const graphileRun = (deps: EventWorkerDeps, queue: GraphileQueue, customerId: string): CustomerRun => ({
  customerId,
  finish: async () => undefined,
  retry: (runAt) => enqueueCustomers(deps.db, queue, [customerId], runAt),
});

function customerTask(deps: EventWorkerDeps, queue: GraphileQueue, options: StripeEventWorkerOptions, onRun?: () => void): TaskList {
  return {
    [CUSTOMER_TASK]: async (payload) => {
      const customer = (payload as { customer?: unknown } | null)?.customer;
      // A payload we did not write (a hand-added job) names no customer: nothing to run.
      if (typeof customer !== 'string') return;
      await runCustomerJob(deps, graphileRun(deps, queue, customer), options);
      onRun?.();
    },
  };
}

/**
 * The runners' own pool (never the requests' pool: one of its connections LISTENs for good), named in
 * pg_stat_activity. A connection lost while idle must not crash the process; graphile-worker listens
 * for that while a runner is up, and these listeners cover the moment between two runners.
 */
function queuePool(queue: GraphileQueue, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: queue.connectionString, max, application_name: queue.applicationName });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

const reportTo = (onError: ((err: unknown) => void) | undefined) =>
  graphileLogger((level, message) => onError?.(new QueueProblem(level, message)));

/**
 * Runs every due job, one at a time, until none is left (tests, the CLI); returns how many it ran.
 * graphile-worker's `runOnce` stops at the first empty fetch, which can come while the job a failed
 * run asked for still waits behind the run's own queue lock: it goes round until nothing is due.
 */
export async function drainGraphileQueue(
  deps: EventWorkerDeps,
  queue: GraphileQueue,
  options: StripeEventWorkerOptions & { onError?: (err: unknown) => void } = {},
): Promise<number> {
  let runs = 0;
  const taskList = customerTask(deps, queue, options, () => {
    runs += 1;
  });
  const pgPool = queuePool(queue, 2);
  // Events stored a moment ago may still be waiting for their receipt to add their jobs.
  const enqueueUnqueued = async () => enqueueCustomers(deps.db, queue, await unqueuedCustomers(deps.db, queue, 0));
  try {
    await enqueueUnqueued();
    for (;;) {
      const before = runs;
      await runOnce({ pgPool, schema: queue.schema, noHandleSignals: true, logger: reportTo(options.onError), taskList });
      if (runs === before) {
        if (!(await dueJob(deps, queue, false))) return runs;
        await enqueueUnqueued();
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  } finally {
    await pgPool.end();
  }
}

/**
 * Whether a job of ours is due: one not taken yet (it may still wait behind its customer's queue
 * lock), or with `orRunning`, also one a worker is running now; or an event waits for a receipt to
 * add its job. One statement, so that a job added between two reads cannot slip past both.
 */
async function dueJob(deps: EventWorkerDeps, queue: GraphileQueue, orRunning: boolean): Promise<boolean> {
  const taken = orRunning ? sql`locked_at is not null or` : sql`locked_at is null and`;
  const row = await sql<{ due: boolean }>`
    select exists (select 1 from ${graphileJobs(queue)}
                    where task_identifier = ${CUSTOMER_TASK} and run_at <= now()
                      and (${taken} attempts < max_attempts))
        or exists (${unqueuedEvents(queue, 0)}) as due`.execute(deps.db);
  return row.rows[0]?.due === true;
}

/**
 * graphile-worker's runner, `concurrency` jobs at once on a pool of its own (LISTEN wakes it when an
 * event is stored, so `wake` has nothing to do). graphile-worker holds a dead worker's lock for four
 * hours; here every runner writes its workers' ids to `event_queue_workers` every quarter lease and
 * unlocks the jobs of any worker unseen for a whole lease, so a process killed with SIGKILL loses its
 * jobs to the living within about `leaseMs`. The same sweep adds the jobs a receipt did not live to
 * add (`unqueuedCustomers`).
 */
export function startGraphileWorker(
  deps: EventWorkerDeps,
  queue: GraphileQueue,
  options: LongRunningWorkerOptions = {},
): StripeEventWorker {
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const leaseMs = options.leaseMs ?? 60_000;
  // How long a stored event may wait without its customer's job before the sweep takes its receipt
  // for dead and adds the job: a receipt adds it a few milliseconds after the acknowledgment.
  const unqueuedAfterMs = Math.min(5_000, leaseMs);
  const workerIds = new Set<string>();
  const events: WorkerEvents = new EventEmitter();
  events.on('worker:create', ({ worker }) => {
    workerIds.add(worker.workerId);
  });
  events.on('worker:stop', ({ worker }) => {
    workerIds.delete(worker.workerId);
  });
  let stopped = false;
  let stopping: Promise<void> | undefined;
  let beating: Promise<void> | undefined;
  const beat = async () => {
    const lease = sql`make_interval(secs => ${leaseMs / 1000})`;
    if (workerIds.size > 0)
      await sql`insert into event_queue_workers (worker_id, seen_at)
                select id, now() from unnest(${[...workerIds]}::text[]) as id
                on conflict (worker_id) do update set seen_at = now()`.execute(deps.db);
    const dead = await sql<{ locked_by: string }>`
      select distinct j.locked_by from ${graphileJobs(queue)} j
       where j.locked_by is not null and j.locked_at < now() - ${lease}
         and not exists (select 1 from event_queue_workers w where w.worker_id = j.locked_by and w.seen_at > now() - ${lease})`.execute(
      deps.db,
    );
    if (dead.rows.length > 0)
      await sql`select ${graphileFn(queue, 'force_unlock_workers')}(${dead.rows.map((r) => r.locked_by)}::text[])`.execute(deps.db);
    await sql`delete from event_queue_workers where seen_at < now() - ${lease} * 10`.execute(deps.db);
    // Events whose receipt died (or failed) before adding their customers' jobs.
    await enqueueCustomers(deps.db, queue, await unqueuedCustomers(deps.db, queue, unqueuedAfterMs));
  };
  const timer = setInterval(
    () => {
      if (stopped || beating) return;
      beating = beat()
        .catch((err) => options.onError?.(err))
        .finally(() => {
          beating = undefined;
        });
    },
    Math.min(5_000, Math.max(100, leaseMs / 4)),
  );
  if (!options.keepAlive) timer.unref();

  // graphile-worker's runner stops by itself when it hears of a breaking migration (its notice is
  // database-wide, so another schema's install counts) or loses its LISTEN connection; until asked
  // to stop, a runner that ended is replaced, at once the first time and then backing off.
  const pgPool = queuePool(queue, concurrency + 2);
  let current: Promise<Runner | undefined> | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let failuresInRow = 0;
  const replace = () => {
    if (stopped) return;
    restartTimer = setTimeout(launch, Math.min(30_000, 100 * 2 ** Math.min(failuresInRow, 9)));
    if (!options.keepAlive) restartTimer.unref();
  };
  const launch = () => {
    current = run({
      pgPool,
      schema: queue.schema,
      concurrency,
      pollInterval: options.pollMs ?? 500,
      noHandleSignals: true,
      logger: reportTo(options.onError),
      events,
      // No cron: without this it would read a `crontab` file from the working directory.
      parsedCronItems: [],
      taskList: customerTask(deps, queue, options),
    }).then(
      (runner) => {
        failuresInRow = 0;
        void runner.promise.catch((err) => options.onError?.(err)).then(replace);
        return runner;
      },
      (err) => {
        failuresInRow += 1;
        options.onError?.(err);
        replace();
        return undefined;
      },
    );
  };
  launch();

  return {
    wake: () => undefined,
    idle: async () => {
      while (await dueJob(deps, queue, true)) await new Promise((r) => setTimeout(r, 20));
    },
    stop: () => {
      // Idempotent: a server's shutdown paths may each ask.
      stopping ??= (async () => {
        stopped = true;
        clearInterval(timer);
        await beating;
        clearTimeout(restartTimer);
        const ids = [...workerIds];
        const runner = await current;
        // A runner that already ended by itself says so by rejecting: nothing left to stop.
        await runner?.stop().catch(() => undefined);
        await pgPool.end();
        if (ids.length > 0)
          await deps.db
            .deleteFrom('event_queue_workers')
            .where('worker_id', 'in', ids)
            .execute()
            .catch(() => undefined);
      })();
      return stopping;
    },
  };
}
