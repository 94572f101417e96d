import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Executor, Trx } from '../db/executor.ts';
import { PREPARED } from '../db/prepared.ts';
import type { EventSummary, StripeEventRow, StripeEventStatus } from '../db/schema.ts';
import { CUSTOMER_TASK, type EventQueue, type GraphileQueue, graphileFn, graphileJobs, graphileType } from './event-queue.ts';

export interface EventRecord {
  id: string;
  type: string;
  created: number;
  customerId: string | null;
  objectType: string | null;
  objectId: string | null;
  summary: EventSummary;
}

/** What a receipt statement wrote: the ids that were new, and the customers still to be given a job. */
export interface StoredEvents {
  ids: Set<string>;
  /**
   * On graphile-worker, the customers of the new `pending` events, whose jobs `enqueueCustomers`
   * adds after the acknowledgment; on the table queue, none (the statement wrote their jobs).
   */
  unqueued: string[];
}

/** A received event as it is stored: `pending` for a worker to apply, or `ignored` (not ours to apply). */
export interface EventReceipt {
  record: EventRecord;
  status: 'pending' | 'ignored';
}

/**
 * Stores received events, each once (the event id is the key), in one statement for the whole batch.
 * Returns the ids that were new (the others were duplicates).
 *
 * On the table queue the same statement enqueues the customers of the `pending` ones (data-modifying
 * CTEs): one waiting job per customer, into which later events fold (its `version` moves, so a run
 * that started before them knows to run again). On graphile-worker the statement writes the events
 * only, and returns their customers: graphile-worker's `add_jobs` (task and queue upserts, a
 * notification, the job rows) costs several times the insert, and on a busy database every statement
 * waits for CPU in proportion. The receipt enqueues them right after answering (`enqueueCustomers`);
 * if the process dies in between, `unqueuedCustomers` finds the events that wait without a job and
 * the runners' sweep enqueues them.
 */
export async function storeEvents(db: Executor, queue: EventQueue, events: EventReceipt[]): Promise<StoredEvents> {
  if (events.length === 0) return { ids: new Set(), unqueued: [] };
  // Each id once, the first of a batch kept (the receipt that waits on it is answered as new); in id
  // order: two processes storing the same events (a delivery retried while the first is still being
  // written) take the key locks in the same order and never deadlock.
  const byId = new Map<string, EventReceipt>();
  for (const e of events) if (!byId.has(e.record.id)) byId.set(e.record.id, e);
  const unique = [...byId.values()].sort((a, b) => (a.record.id < b.record.id ? -1 : 1));
  if (queue.kind === 'graphile-worker') {
    const { rows } = await receiptInsert(unique).execute(db);
    const unqueued = new Set<string>();
    for (const r of rows) if (r.status === 'pending' && r.stripe_customer_id !== null) unqueued.add(r.stripe_customer_id);
    return { ids: new Set(rows.map((r) => r.event_id)), unqueued: [...unqueued] };
  }
  const { rows } = await sql<{ event_id: string }>`
    with stored as (${receiptInsert(unique)}),
    enqueued as (
      insert into stripe_customer_jobs (stripe_customer_id)
      select distinct stored.stripe_customer_id from stored
       where stored.status = 'pending' and stored.stripe_customer_id is not null
       -- Rows upserted in key order: two statements over the same customers lock them alike.
       order by stored.stripe_customer_id
      on conflict (stripe_customer_id) do update
        set version = stripe_customer_jobs.version + 1, run_at = least(stripe_customer_jobs.run_at, now())
      returning stripe_customer_id)
    select event_id from stored`.execute(db);
  return { ids: new Set(rows.map((r) => r.event_id)), unqueued: [] };
}

/**
 * The receipt's insert: one statement text whatever the batch, its rows as one array per column
 * (`unnest`), prepared on PostgreSQL. Built with the query builder, a batch of n events was a new
 * text of 10n parameters, compiled in the process and parsed and planned by PostgreSQL at every
 * receipt, on the path every acknowledgment waits for.
 */
const receiptInsert = (events: EventReceipt[]) => {
  const column = <T>(f: (e: EventReceipt) => T) => events.map(f);
  return sql<Pick<StripeEventRow, 'event_id' | 'stripe_customer_id' | 'status'>>`
    insert into stripe_events
      (event_id, type, stripe_created, stripe_customer_id, object_type, object_id, summary, status, attempts, processed_at)
    select ${PREPARED} e.event_id, e.type, e.stripe_created, e.stripe_customer_id, e.object_type, e.object_id, e.summary, e.status, 0,
      case when e.status = 'ignored' then now() end
    from unnest(${column((e) => e.record.id)}::text[], ${column((e) => e.record.type)}::text[],
      ${column((e) => String(e.record.created))}::bigint[], ${column((e) => e.record.customerId)}::text[],
      ${column((e) => e.record.objectType)}::text[], ${column((e) => e.record.objectId)}::text[],
      ${column((e) => JSON.stringify(e.record.summary))}::jsonb[], ${column((e) => e.status)}::text[])
      with ordinality as e(event_id, type, stripe_created, stripe_customer_id, object_type, object_id, summary, status, n)
    order by e.n
    on conflict (event_id) do nothing
    returning event_id, stripe_customer_id, status`;
};

/**
 * On graphile-worker: the waiting events that no job of their customer's will run, because the
 * process that stored them died before enqueuing them (or its enqueue failed). `pending` events
 * received at least `olderThanMs` ago, or `failed` ones whose next attempt is that late, whose
 * customer has no job at all: a job that exists, waiting or running, reads every waiting event of its
 * customer when it runs, or is followed by one that does. A select of `customer`.
 */
export const unqueuedEvents = (queue: GraphileQueue, olderThanMs: number) => {
  const before = sql`now() - make_interval(secs => ${olderThanMs / 1000})`;
  return sql`select e.stripe_customer_id as customer from stripe_events e
     where e.stripe_customer_id is not null
       and ((e.status = 'pending' and e.received_at <= ${before})
         or (e.status = 'failed' and e.next_attempt_at <= ${before}))
       and not exists (select 1 from ${graphileJobs(queue)} j where j.key = e.stripe_customer_id)`;
};

/** The customers (at most `limit`) of `unqueuedEvents`. */
export async function unqueuedCustomers(db: Executor, queue: GraphileQueue, olderThanMs: number, limit = 500): Promise<string[]> {
  const rows = await sql<{ customer: string }>`
    select distinct u.customer from (${unqueuedEvents(queue, olderThanMs)}) as u limit ${limit}`.execute(db);
  return rows.rows.map((r) => r.customer);
}

/** The advisory-lock space of customers' job writes: the first key of `pg_advisory_xact_lock(int, int)`. */
const CUSTOMER_JOB_LOCKS = 1_398_034_002;

/**
 * The customers of `customers` (a select of a `customer` column, each once), each locked until the
 * transaction ends, in lock-key order (PostgreSQL calls a volatile function of the select list after
 * the sort). graphile-worker's `add_jobs` inserts new queue rows in an order of its own (its
 * `select distinct`), so two statements adding jobs for overlapping customers could each wait on a
 * row the other had inserted: PostgreSQL found such deadlocks between receipts written at once.
 * With these locks taken first, one statement at a time writes a given customer's queue and job;
 * another waits for its commit, which ends that customer's part of the wait.
 */
const lockedCustomers = (customers: RawBuilder<unknown>) =>
  sql`(select l.customer from (
        select c.customer, pg_advisory_xact_lock(${sql.lit(CUSTOMER_JOB_LOCKS)}, hashtext(c.customer)) as locked
          from (${customers}) as c
         order by hashtext(c.customer), c.customer) as l)`;

/**
 * graphile-worker's `add_jobs` over the customers of the query it is selected from (a column
 * `customer`, each once): one call for all of them, instead of its `add_job` (which calls `add_jobs`
 * with one spec) per customer: the task and queue upserts, the notification and the insert are done
 * once per statement, not once per customer. Each customer gets their own named queue (one run at a
 * time, in order) and their id as the job key, so a waiting job takes the new events in (its run time
 * moves to `runAt`, now by default) and a running one is followed by exactly one more. Selected
 * from `lockedCustomers`, so that statements over the same customers never deadlock inside it.
 */
const addCustomerJobs = (queue: GraphileQueue, runAt?: Date) =>
  sql`(select count(*) from ${graphileFn(queue, 'add_jobs')}(array_agg(row(
        ${CUSTOMER_TASK}::text, json_build_object('customer', c.customer), c.customer, ${runAt ?? null}::timestamptz,
        null::smallint, c.customer, null::smallint, null::text[])::${graphileType(queue, 'job_spec')})))`;

/** Asks for a run over these customers' waiting events at `runAt` (default: now, even if one was backing off). */
export async function enqueueCustomers(db: Executor, queue: EventQueue, customerIds: readonly string[], runAt?: Date): Promise<void> {
  if (customerIds.length === 0) return;
  if (queue.kind === 'graphile-worker') {
    await sql`select ${addCustomerJobs(queue, runAt)}
                from ${lockedCustomers(sql`select distinct u.customer from unnest(${[...customerIds]}::text[]) as u(customer)`)} as c
              having count(*) > 0`.execute(db);
    return;
  }
  await db
    .insertInto('stripe_customer_jobs')
    .values([...new Set(customerIds)].sort().map((c) => ({ stripe_customer_id: c, ...(runAt ? { run_at: runAt } : {}) })))
    .onConflict((oc) =>
      oc.column('stripe_customer_id').doUpdateSet({
        version: sql`stripe_customer_jobs.version + 1`,
        run_at: runAt ? sql`excluded.run_at` : sql`least(stripe_customer_jobs.run_at, now())`,
      }),
    )
    .execute();
}

export interface ClaimedJob {
  customerId: string;
  version: number;
}

/**
 * Claims the oldest due customer job for `leaseMs`: a lease, not a lock held open — no transaction
 * stays open while the worker calls Stripe. A worker that dies loses its lease and another takes the
 * job over. One statement; `skip locked` keeps concurrent claimers off each other's rows.
 */
export async function claimCustomerJob(db: Executor, workerId: string, leaseMs: number): Promise<ClaimedJob | undefined> {
  const row = await sql<{ stripe_customer_id: string; version: string | number }>`
    update stripe_customer_jobs
       set locked_until = now() + make_interval(secs => ${leaseMs / 1000}), locked_by = ${workerId}
     where stripe_customer_id = (
             select stripe_customer_id from stripe_customer_jobs
              where run_at <= now() and (locked_until is null or locked_until < now())
              order by run_at
              limit 1
              for update skip locked)
     returning stripe_customer_id, version`.execute(db);
  const job = row.rows[0];
  return job ? { customerId: job.stripe_customer_id, version: Number(job.version) } : undefined;
}

/** The events a run applies: the customer's waiting ones, oldest first. */
export async function waitingEvents(db: Executor, customerId: string, limit: number): Promise<StripeEventRow[]> {
  return db
    .selectFrom('stripe_events')
    .selectAll()
    .where('stripe_customer_id', '=', customerId)
    .where('status', 'in', ['pending', 'failed'])
    .orderBy('stripe_created')
    .orderBy('received_at')
    .limit(limit)
    .execute();
}

/**
 * Marks events. `attempt` is the run's attempt number when it failed (the run may have marked them
 * processed before failing after its apply: the count is set, not bumped twice); otherwise each
 * event's count goes up by one.
 */
export async function setEventsStatus(
  db: Executor,
  ids: string[],
  status: StripeEventStatus,
  failure: { error: string; nextAttemptAt: Date | null; attempt: number } | null = null,
): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('stripe_events')
    .set({
      status,
      attempts: failure ? failure.attempt : sql`attempts + 1`,
      last_error: failure?.error ?? null,
      next_attempt_at: failure?.nextAttemptAt ?? null,
      processed_at: status === 'processed' || status === 'ignored' ? new Date() : null,
    })
    .where('event_id', 'in', ids)
    .execute();
}

/**
 * Ends a run that applied everything it read: the job goes away unless an event arrived meanwhile
 * (its version moved), in which case it is released to run again at once.
 */
export async function finishCustomerJob(db: Executor, job: ClaimedJob): Promise<void> {
  const deleted = await db
    .deleteFrom('stripe_customer_jobs')
    .where('stripe_customer_id', '=', job.customerId)
    .where('version', '=', job.version)
    .executeTakeFirst();
  if (Number(deleted.numDeletedRows) > 0) return;
  await db
    .updateTable('stripe_customer_jobs')
    .set({ locked_until: null, locked_by: null, attempts: 0, last_error: null, run_at: new Date() })
    .where('stripe_customer_id', '=', job.customerId)
    .execute();
}

/** Releases a failed run to try again at `runAt`. */
export async function retryCustomerJob(db: Executor, job: ClaimedJob, runAt: Date, error: string): Promise<void> {
  await db
    .updateTable('stripe_customer_jobs')
    .set({ locked_until: null, locked_by: null, attempts: sql`attempts + 1`, last_error: error, run_at: runAt })
    .where('stripe_customer_id', '=', job.customerId)
    .execute();
}

/** How much is waiting, for the metrics: jobs, events, the oldest waiting event's age, dead events. */
export async function queueStats(
  db: Executor,
  queue: EventQueue,
): Promise<{ pending: number; oldestPendingSeconds: number; dead: number; jobs: number }> {
  const jobs =
    queue.kind === 'graphile-worker'
      ? sql`(select count(*) from ${graphileJobs(queue)} where task_identifier = ${CUSTOMER_TASK})`
      : sql`(select count(*) from stripe_customer_jobs)`;
  const row = await sql<{ pending: string | number; oldest: string | number | null; dead: string | number; jobs: string | number }>`
    select (select count(*) from stripe_events where status in ('pending', 'failed')) as pending,
           (select extract(epoch from now() - min(received_at)) from stripe_events where status in ('pending', 'failed')) as oldest,
           (select count(*) from stripe_events where status = 'dead') as dead,
           ${jobs} as jobs`.execute(db);
  const r = row.rows[0];
  return {
    pending: Number(r?.pending ?? 0),
    oldestPendingSeconds: Number(r?.oldest ?? 0),
    dead: Number(r?.dead ?? 0),
    jobs: Number(r?.jobs ?? 0),
  };
}

/** Dead or failed events, newest first (operators: `pnpm billing:events`). */
export async function listEvents(db: Executor, status: StripeEventStatus | undefined, limit: number): Promise<StripeEventRow[]> {
  let q = db.selectFrom('stripe_events').selectAll();
  if (status) q = q.where('status', '=', status);
  return q.orderBy('received_at', 'desc').limit(limit).execute();
}

export async function findEvent(db: Executor, eventId: string): Promise<StripeEventRow | undefined> {
  return db.selectFrom('stripe_events').selectAll().where('event_id', '=', eventId).executeTakeFirst();
}

/** Puts dead (or any stored) events back in the queue and enqueues their customers; returns how many. */
export async function replayEvents(db: Db, queue: EventQueue, eventIds: string[] | 'all-dead'): Promise<number> {
  return db.transaction().execute((trx) => replayIn(trx, queue, eventIds));
}

async function replayIn(trx: Trx, queue: EventQueue, eventIds: string[] | 'all-dead'): Promise<number> {
  let q = trx
    .updateTable('stripe_events')
    .set({ status: 'pending', last_error: null, next_attempt_at: null })
    .where('stripe_customer_id', 'is not', null);
  q = eventIds === 'all-dead' ? q.where('status', '=', 'dead') : q.where('event_id', 'in', eventIds.length ? eventIds : ['']);
  const rows = await q.returning('stripe_customer_id').execute();
  const customers = new Set(rows.map((r) => r.stripe_customer_id).filter((c): c is string => c !== null));
  await enqueueCustomers(trx, queue, [...customers]);
  return rows.length;
}
