import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { findCheckoutSession, setCheckoutStatus } from '../checkout/checkout.repository.ts';
import { findUserIdByCustomer, forgetCustomer } from '../customers/customer.repository.ts';
import { resolveCustomerOwner } from '../customers/resolve-owner.ts';
import type { Trx } from '../db/executor.ts';
import type { StripeEventRow } from '../db/schema.ts';
import type { BillingDeps } from '../deps.ts';
import { causeOf } from '../errors.ts';
import { applyCharge, type ChargeRead, enforceMoneyBackPolicy, invoiceOfCharge } from '../money-back/money-back.ts';
import { notifyOnce } from '../notices/notice.repository.ts';
import { CHARGE_ID, customerIdOf, idOf, invoiceSubscriptionId } from '../stripe/ids.ts';
import { inBackground } from '../stripe/stripe-budget.ts';
import { isStripeNotFound, stripeCall } from '../stripe/stripe-errors.ts';
import { enforceOneLiveSubscription } from '../subscriptions/one-live-subscription.ts';
import { isActivated } from '../subscriptions/statuses.ts';
import { findSubscription } from '../subscriptions/subscription.repository.ts';
import { applyInvoice, applyInvoiceGone, applySubscription, applySubscriptionGone } from '../sync/apply.ts';
import {
  type ClaimedJob,
  claimCustomerJob,
  enqueueCustomers,
  finishCustomerJob,
  retryCustomerJob,
  setEventsStatus,
  waitingEvents,
} from './event.repository.ts';
import { queueOf } from './event-queue.ts';

export interface StripeEventWorkerOptions {
  /** Names this worker in the job table (`locked_by`; the table queue). */
  workerId?: string;
  /**
   * How long a claim lasts: a worker that dies is replaced after this (default 60 s). On
   * graphile-worker, how long a worker may go unseen before its jobs are unlocked.
   */
  leaseMs?: number;
  /** Attempts before a customer's failing events are parked as dead (default 8). */
  maxAttempts?: number;
  /** Delay before attempt `n + 1` (default: 2^n s with jitter, at most 10 min). */
  backoffMs?: (attempt: number) => number;
  /** Events applied in one run at most (the rest wait for the next run). */
  batchSize?: number;
}

export type EventWorkerDeps = Pick<BillingDeps, 'db' | 'stripe' | 'plans' | 'clock' | 'observer' | 'queue'>;
type Deps = EventWorkerDeps;

/** One run over one customer's waiting events, as its queue handed it out. */
export interface CustomerRun {
  customerId: string;
  /** Ends a run that applied everything it read. */
  finish(): Promise<void>;
  /** Ends a failed run: the customer's events are tried again at `runAt`. */
  retry(runAt: Date, cause: string): Promise<void>;
}
type Read<T> = T | 'gone';

const defaultBackoff = (attempt: number) => {
  const base = Math.min(600_000, 1000 * 2 ** Math.min(attempt, 10));
  return Math.round(base / 2 + Math.random() * (base / 2));
};

/** Runs one Stripe read; a 404 means the object is gone, which is an answer, not a failure. */
async function readOrGone<T>(fn: () => Promise<T>): Promise<Read<T>> {
  try {
    return await stripeCall(fn);
  } catch (err) {
    if (isStripeNotFound(err)) return 'gone';
    throw err;
  }
}

interface Reads {
  customer: Read<Stripe.Customer | Stripe.DeletedCustomer> | undefined;
  /**
   * When each object's answer arrived (ms), by id, the customer's included. Each read is stamped on
   * its own: stamping them all with the end of the batch would let a state read before a concurrent
   * change (a plan change answered meanwhile) pass for newer than that change.
   */
  at: Map<string, number>;
  sessions: Map<string, Read<Stripe.Checkout.Session>>;
  subscriptions: Map<string, Read<Stripe.Subscription>>;
  invoices: Map<string, Read<Stripe.Invoice>>;
  /** Payments refunded or disputed, with the invoice each paid and the dispute an event named. */
  charges: Map<string, Read<ChargeRead>>;
}

/**
 * Re-reads, once each, the objects a customer's waiting events name: however many events name one
 * subscription, it is read once (coalescing). No transaction is open meanwhile.
 */
async function readObjects(
  deps: Deps,
  events: StripeEventRow[],
  customer: Reads['customer'],
  customerReadAt: Map<string, number>,
): Promise<Reads> {
  const at = new Map(customerReadAt);
  const reads: Reads = { customer, at, sessions: new Map(), subscriptions: new Map(), invoices: new Map(), charges: new Map() };
  const stamp = <T>(id: string, value: T): T => {
    at.set(id, Date.now());
    return value;
  };
  const want = {
    sessions: new Set<string>(),
    subscriptions: new Set<string>(),
    invoices: new Set<string>(),
    charges: new Set<string>(),
    disputes: new Set<string>(),
  };
  for (const e of events) {
    if (!e.object_id) continue;
    if (e.object_type === 'checkout.session') want.sessions.add(e.object_id);
    else if (e.object_type === 'subscription') want.subscriptions.add(e.object_id);
    else if (e.object_type === 'invoice') want.invoices.add(e.object_id);
    else if (e.object_type === 'charge') want.charges.add(e.object_id);
    else if (e.object_type === 'dispute') want.disputes.add(e.object_id);
  }
  // Money back: the dispute (its status now), the payment, and the invoice it paid (mirrored too).
  const disputeOf = new Map<string, Stripe.Dispute>();
  for (const id of want.disputes) {
    const dispute = await readOrGone(() => deps.stripe.disputes.retrieve(id));
    const charge = dispute === 'gone' ? null : idOf(dispute.charge);
    if (dispute !== 'gone' && charge) {
      disputeOf.set(charge, dispute);
      want.charges.add(charge);
    }
  }
  for (const id of want.charges) {
    const charge = await readOrGone(() => deps.stripe.charges.retrieve(id));
    if (charge === 'gone') {
      reads.charges.set(id, stamp(id, 'gone'));
      continue;
    }
    const invoiceId = await invoiceOfCharge(deps, charge);
    reads.charges.set(id, stamp(id, { charge, invoiceId, dispute: disputeOf.get(id) }));
    if (invoiceId) want.invoices.add(invoiceId);
  }
  for (const id of want.sessions) {
    const session = stamp(id, await readOrGone(() => deps.stripe.checkout.sessions.retrieve(id, { expand: ['subscription'] })));
    reads.sessions.set(id, session);
    if (session !== 'gone' && session.subscription && typeof session.subscription === 'object') {
      reads.subscriptions.set(session.subscription.id, stamp(session.subscription.id, session.subscription));
    }
  }
  for (const id of want.invoices) {
    const invoice = stamp(id, await readOrGone(() => deps.stripe.invoices.retrieve(id)));
    reads.invoices.set(id, invoice);
    // An invoice can arrive before its subscription: bring the subscription along.
    const sub = invoice === 'gone' ? null : invoiceSubscriptionId(invoice);
    if (sub) want.subscriptions.add(sub);
  }
  for (const id of want.subscriptions) {
    if (reads.subscriptions.has(id)) continue;
    reads.subscriptions.set(id, stamp(id, await readOrGone(() => deps.stripe.subscriptions.retrieve(id))));
  }
  return reads;
}

/** An object re-read from Stripe belongs to this run only when Stripe says it is this customer's. */
const owned = (object: unknown, customerId: string) => customerIdOf(object) === customerId;

/**
 * The payload is the record of what happened; the re-read shows only the present. A subscription
 * that went active and ended before we heard of it still activated once: recorded from the event.
 */
async function recordTransitions(trx: Trx, events: StripeEventRow[], userId: string, customerId: string): Promise<void> {
  for (const e of events) {
    if (!e.object_id) continue;
    if (e.object_type === 'subscription' && isActivated(e.summary?.status)) {
      const row = await findSubscription(trx, e.object_id);
      if (row && row.user_id === userId && row.stripe_customer_id === customerId)
        await notifyOnce(trx, userId, 'plan_activated', e.object_id, `plan_activated:${e.object_id}`);
    }
    if (e.type === 'invoice.payment_failed' && e.summary?.subscription) {
      const row = await findSubscription(trx, e.summary.subscription);
      if (row && row.user_id === userId)
        await notifyOnce(
          trx,
          userId,
          'payment_failed',
          e.summary.subscription,
          `payment_failed:${e.object_id}:${String(e.summary.attempt_count)}`,
        );
    }
  }
}

/** Writes what was read, in one short transaction. Returns whether a subscription was applied. */
async function applyReads(trx: Trx, deps: Deps, customerId: string, userId: string, reads: Reads): Promise<boolean> {
  const readAt = (id: string) => reads.at.get(id) ?? 0;
  if (reads.customer === 'gone' || (reads.customer && 'deleted' in reads.customer && reads.customer.deleted)) {
    await forgetCustomer(trx, customerId, readAt(customerId));
    return false;
  }
  let appliedSubscription = false;
  for (const [id, sub] of reads.subscriptions) {
    if (sub === 'gone') {
      const row = await findSubscription(trx, id);
      if (row?.stripe_customer_id === customerId) await applySubscriptionGone(trx, id, readAt(id));
    } else if (owned(sub, customerId) && (sub.metadata?.user_id === undefined || sub.metadata.user_id === userId)) {
      await applySubscription(trx, deps, sub, userId, readAt(id));
      appliedSubscription = true;
    }
  }
  for (const [id, inv] of reads.invoices) {
    if (inv === 'gone') {
      const row = await trx.selectFrom('invoices').select('stripe_customer_id').where('stripe_invoice_id', '=', id).executeTakeFirst();
      if (row?.stripe_customer_id === customerId) await applyInvoiceGone(trx, id);
    } else if (owned(inv, customerId)) {
      await applyInvoice(trx, inv, userId, readAt(id));
    }
  }
  for (const [id, read] of reads.charges) {
    if (read !== 'gone' && owned(read.charge, customerId)) await applyCharge(trx, read, userId, customerId, readAt(id));
  }
  for (const [id, session] of reads.sessions) {
    const local = await findCheckoutSession(trx, id);
    if (!local || local.user_id !== userId) continue;
    const status =
      session === 'gone' ? 'expired' : session.status === 'complete' ? 'complete' : session.status === 'expired' ? 'expired' : null;
    if (status && local.status !== status) await setCheckoutStatus(trx, id, status);
  }
  return appliedSubscription;
}

/**
 * A dispute's events wait under its charge (Stripe's dispute names no customer): the charge is read
 * and the events move to its customer's queue, to be applied there in order. A charge that is gone
 * or names no customer of anyone leaves them ignored.
 */
async function requeueUnderCustomer(deps: Deps, job: CustomerRun, events: StripeEventRow[]): Promise<void> {
  const ids = events.map((e) => e.event_id);
  try {
    const charge = await readOrGone(() => deps.stripe.charges.retrieve(job.customerId));
    const customer = charge === 'gone' ? null : customerIdOf(charge);
    if (!customer) await setEventsStatus(deps.db, ids, 'ignored');
    else
      await deps.db.transaction().execute(async (trx) => {
        await trx.updateTable('stripe_events').set({ stripe_customer_id: customer }).where('event_id', 'in', ids).execute();
        await enqueueCustomers(trx, queueOf(deps), [customer]);
      });
    await job.finish();
  } catch (err) {
    const attempt = attemptOf(events);
    const nextAttemptAt = new Date(Date.now() + defaultBackoff(attempt));
    await setEventsStatus(deps.db, ids, 'failed', { error: causeOf(err), nextAttemptAt, attempt });
    await job.retry(nextAttemptAt, causeOf(err));
  }
}

/** This run's attempt over these events: one more than the most any of them has had. */
const attemptOf = (events: StripeEventRow[]) => Math.max(0, ...events.map((e) => e.attempts)) + 1;

/**
 * One run over one claimed customer: read the waiting events, re-read what they name from Stripe
 * (no transaction open), apply it and mark the events in one short transaction. On failure the
 * events wait for the next attempt with backoff; after `maxAttempts` they are parked as `dead`.
 */
export function runCustomerJob(deps: Deps, job: CustomerRun, options: StripeEventWorkerOptions = {}): Promise<void> {
  // A worker's Stripe calls wait behind every person's in the shared budget.
  return inBackground(() => runCustomerJobNow(deps, job, options));
}

async function runCustomerJobNow(deps: Deps, job: CustomerRun, options: StripeEventWorkerOptions): Promise<void> {
  const events = await waitingEvents(deps.db, job.customerId, options.batchSize ?? 500);
  if (events.length === 0) {
    await job.finish();
    return;
  }
  const ids = events.map((e) => e.event_id);
  if (CHARGE_ID.test(job.customerId)) return requeueUnderCustomer(deps, job, events);
  const now = deps.clock.now().getTime() / 1000;
  const report = (outcome: 'processed' | 'ignored' | 'failed' | 'dead') => {
    for (const e of events) deps.observer?.webhook?.({ type: e.type, outcome, lagSeconds: now - Number(e.stripe_created) });
  };
  try {
    const customerReadAt = new Map<string, number>();
    const customer = events.some((e) => e.type === 'customer.deleted')
      ? await readOrGone(() => deps.stripe.customers.retrieve(job.customerId)).finally(() => customerReadAt.set(job.customerId, Date.now()))
      : undefined;
    const userId =
      customer === 'gone'
        ? await findUserIdByCustomer(deps.db, job.customerId)
        : await resolveCustomerOwner(deps, job.customerId, customer);
    if (!userId) {
      // Not one of ours (no mapping, no metadata naming a user we have): acknowledged and ignored.
      await setEventsStatus(deps.db, ids, 'ignored');
      await job.finish();
      report('ignored');
      return;
    }
    const reads = await readObjects(deps, events, customer, customerReadAt);
    const appliedSubscription = await deps.db.transaction().execute(async (trx) => {
      const applied = await applyReads(trx, deps, job.customerId, userId, reads);
      await recordTransitions(trx, events, userId, job.customerId);
      await setEventsStatus(trx, ids, 'processed');
      return applied;
    });
    // Money back changes access by the written policy (Stripe calls, no transaction open), before the
    // job is finished, so a failure here retries the run.
    const charges = [...reads.charges].flatMap(([id, r]) => (r !== 'gone' && owned(r.charge, job.customerId) ? [id] : []));
    await enforceMoneyBackPolicy(deps, userId, job.customerId, charges);
    // After a subscription went live, make sure it is the person's only live one (Stripe, no
    // transaction); also before the job is finished, so a failure retries the run.
    if (appliedSubscription) await enforceOneLiveSubscription(deps, userId, job.customerId);
    // The job row is touched only after that commit, in a statement of its own: a receipt for this
    // customer (which bumps the row) never waits on the apply transaction's lock, so acknowledgments
    // stay fast while workers write. A crash in between leaves the job to a later run with nothing left to do.
    await job.finish();
    report('processed');
  } catch (err) {
    const attempt = attemptOf(events);
    const dead = attempt >= (options.maxAttempts ?? 8);
    const cause = causeOf(err);
    const nextAttemptAt = dead ? null : new Date(Date.now() + (options.backoffMs ?? defaultBackoff)(attempt));
    await setEventsStatus(deps.db, ids, dead ? 'dead' : 'failed', { error: cause, nextAttemptAt, attempt });
    if (dead) await job.finish();
    else await job.retry(nextAttemptAt as Date, cause);
    report(dead ? 'dead' : 'failed');
    deps.observer?.eventsFailed?.({
      customerId: job.customerId,
      events: events.map((e) => ({ id: e.event_id, type: e.type })),
      attempt,
      dead,
      cause,
      nextAttemptAt,
    });
  }
}

/** A claimed job of the table queue as a run: finishing deletes it, unless an event came meanwhile. */
const tableRun = (db: Deps['db'], job: ClaimedJob): CustomerRun => ({
  customerId: job.customerId,
  finish: () => finishCustomerJob(db, job),
  retry: (runAt, cause) => retryCustomerJob(db, job, runAt, cause),
});

/**
 * Drains the table queue's due customer jobs until none is left, or `maxRuns`. Returns how many
 * runs it made.
 */
export async function drainTableQueue(deps: Deps, options: StripeEventWorkerOptions & { maxRuns?: number } = {}): Promise<number> {
  const workerId = options.workerId ?? `worker-${randomUUID().slice(0, 8)}`;
  let runs = 0;
  while (runs < (options.maxRuns ?? Number.POSITIVE_INFINITY)) {
    const job = await claimCustomerJob(deps.db, workerId, options.leaseMs ?? 60_000);
    if (!job) break;
    await runCustomerJob(deps, tableRun(deps.db, job), options);
    runs += 1;
  }
  return runs;
}

export interface StripeEventWorker {
  /** Look for work now (after a webhook was stored in this process). */
  wake(): void;
  /** Resolves when nothing due is left and no run is in flight. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export type LongRunningWorkerOptions = StripeEventWorkerOptions & {
  concurrency?: number;
  pollMs?: number;
  onError?: (err: unknown) => void;
  /** Keep the process alive while the worker runs (a worker process); inside a server the server does. */
  keepAlive?: boolean;
};

/**
 * A long-running worker on the table queue: `concurrency` runs at once, each on a different customer
 * (claims skip each other's rows), polling every `pollMs` and woken at once by `wake()`. Any number of
 * these, in any number of processes, share one queue.
 */
export function startTableWorker(deps: Deps, options: LongRunningWorkerOptions = {}): StripeEventWorker {
  const workerId = options.workerId ?? `worker-${randomUUID().slice(0, 8)}`;
  const concurrency = options.concurrency ?? 4;
  let stopped = false;
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  let dispatching: Promise<void> | undefined;
  let again = false;
  let idleWaiters: Array<() => void> = [];
  const runs = new Set<Promise<void>>();

  const settleIdle = () => {
    if (inFlight === 0 && !dispatching) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  };

  const dispatch = (): void => {
    if (stopped) return;
    if (dispatching) {
      again = true;
      return;
    }
    // The flag is set before the loop starts: a loop that finds nothing to do finishes without
    // awaiting, and must still leave `dispatching` cleared.
    let done = false;
    let loop: Promise<void> | undefined;
    loop = (async () => {
      try {
        do {
          again = false;
          while (!stopped && inFlight < concurrency) {
            const job = await claimCustomerJob(deps.db, workerId, options.leaseMs ?? 60_000);
            if (!job) break;
            inFlight += 1;
            const run = runCustomerJob(deps, tableRun(deps.db, job), options)
              .catch((err) => options.onError?.(err))
              .finally(() => {
                inFlight -= 1;
                runs.delete(run);
                dispatch();
                settleIdle();
              });
            runs.add(run);
          }
        } while (again && !stopped && inFlight < concurrency);
      } catch (err) {
        options.onError?.(err);
      } finally {
        done = true;
        if (dispatching === loop) dispatching = undefined;
        settleIdle();
      }
    })();
    if (!done) dispatching = loop;
  };

  const poll = () => {
    if (stopped) return;
    dispatch();
    timer = setTimeout(poll, options.pollMs ?? 500);
    if (!options.keepAlive) timer.unref();
  };
  poll();

  return {
    wake: dispatch,
    idle: async () => {
      for (;;) {
        await new Promise<void>((resolve) => {
          idleWaiters.push(resolve);
          settleIdle();
        });
        // Something may have become due between the last claim and now: look once more.
        const job = stopped ? undefined : await claimCustomerJob(deps.db, workerId, options.leaseMs ?? 60_000);
        if (!job) return;
        inFlight += 1;
        try {
          await runCustomerJob(deps, tableRun(deps.db, job), options);
        } finally {
          inFlight -= 1;
        }
      }
    },
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await dispatching;
      await Promise.allSettled([...runs]);
    },
  };
}
