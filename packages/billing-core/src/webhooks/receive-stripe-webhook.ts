import type Stripe from 'stripe';
import { isDatabaseUnavailable } from '../db/database-errors.ts';
import type { BillingDeps, BillingObserver } from '../deps.ts';
import { causeOf } from '../errors.ts';
import { CHARGE_ID, customerIdOf, idOf, invoiceSubscriptionId } from '../stripe/ids.ts';
import { type EventReceipt, type EventRecord, enqueueCustomers, storeEvents } from './event.repository.ts';
import { type EventQueue, queueOf } from './event-queue.ts';
import { verifyStripeEvent } from './verify-stripe-event.ts';

/** The event types a worker applies; every other type is acknowledged and recorded as ignored. */
export const HANDLED_EVENT_TYPES = new Set([
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
  'checkout.session.expired',
  'charge.refunded',
  'charge.dispute.created',
  'charge.dispute.updated',
  'charge.dispute.closed',
  'customer.deleted',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.paused',
  'customer.subscription.resumed',
  'customer.subscription.trial_will_end',
  'invoice.created',
  'invoice.deleted',
  'invoice.finalized',
  'invoice.updated',
  'invoice.paid',
  'invoice.payment_succeeded',
  'invoice.payment_failed',
  'invoice.payment_action_required',
  'invoice.voided',
  'invoice.marked_uncollectible',
]);

type Db = Pick<BillingDeps, 'db'>['db'];
type Pending = EventReceipt & { resolve(stored: boolean): void; reject(err: unknown): void };

/** How many receipt statements one process has in flight at most. */
const WRITERS = 2;

/**
 * Group commit for receipts: while WRITERS batches are being written, the receipts that arrive wait
 * and go together in the next statement. Under a burst this turns fifty acknowledgments into a few
 * round trips instead of fifty connections' worth; alone, a receipt is written at once. A second
 * writer lets a receipt start while a large batch is still being written, instead of waiting it out.
 *
 * On graphile-worker the receipts are answered once their events are stored, and their customers'
 * jobs are added after (`JobAdder`): the acknowledgment waits for the insert only.
 */
class ReceiptWriter {
  private queue: Pending[] = [];
  private writers = 0;
  /** The flushes running now: `settled` waits for them. */
  private flushing = new Set<Promise<void>>();
  private readonly jobs: JobAdder;

  constructor(
    private readonly db: Db,
    private readonly eventQueue: EventQueue,
    observer: BillingObserver | undefined,
  ) {
    this.jobs = new JobAdder(db, eventQueue, observer);
  }

  store(record: EventRecord, status: EventReceipt['status']): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ record, status, resolve, reject });
      if (this.writers >= WRITERS) return;
      const flushing = this.flush().finally(() => this.flushing.delete(flushing));
      this.flushing.add(flushing);
    });
  }

  /** Resolves when every receipt that arrived so far is written and its customers' jobs added. */
  async settled(): Promise<void> {
    while (this.flushing.size > 0) await Promise.all(this.flushing);
    await this.jobs.settled();
  }

  private async flush(): Promise<void> {
    this.writers++;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, 200);
        try {
          // A connection that died under us (a restart, a failover) is retried once on a fresh one:
          // the statement is idempotent (ids are keys), so a retry of a write that landed reads as duplicates.
          const stored = await storeEvents(this.db, this.eventQueue, batch).catch((err: unknown) => {
            if (!isDatabaseUnavailable(err)) throw err;
            return storeEvents(this.db, this.eventQueue, batch);
          });
          // The first of two identical ids in one batch is the one stored; the second is a duplicate.
          const claimed = new Set<string>();
          for (const p of batch) {
            const isNew = stored.ids.has(p.record.id) && !claimed.has(p.record.id);
            claimed.add(p.record.id);
            p.resolve(isNew);
          }
          this.jobs.add(stored.unqueued);
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.writers--;
    }
  }
}

/**
 * Adds graphile-worker jobs for customers whose events are stored, after the acknowledgment: one
 * statement in flight, and the customers that arrive meanwhile go together in the next one. A
 * statement that fails is tried once more; if that fails too, the runners' sweep
 * (`unqueuedCustomers`) enqueues those customers a few seconds later, as it does for a process that
 * died before its statement ran.
 */
class JobAdder {
  private waiting = new Set<string>();
  private running: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly eventQueue: EventQueue,
    private readonly observer: BillingObserver | undefined,
  ) {}

  add(customers: readonly string[]): void {
    for (const c of customers) this.waiting.add(c);
    if (this.waiting.size > 0) this.running ??= this.drain();
  }

  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  // Never rejects: nobody awaits it but `settled`, and it must always make way for the next drain.
  private async drain(): Promise<void> {
    try {
      while (this.waiting.size > 0) {
        const customers = [...this.waiting];
        this.waiting.clear();
        try {
          await enqueueCustomers(this.db, this.eventQueue, customers).catch(() => enqueueCustomers(this.db, this.eventQueue, customers));
        } catch (err) {
          this.report(customers.length, err);
        }
      }
    } finally {
      this.running = undefined;
    }
  }

  private report(customers: number, err: unknown): void {
    try {
      this.observer?.jobsDeferred?.({ customers, cause: causeOf(err) });
    } catch {
      // A failing observer changes nothing: the sweep adds these jobs either way.
    }
  }
}

const writers = new WeakMap<Db, Map<EventQueue, ReceiptWriter>>();
const receiptWriter = (db: Db, queue: EventQueue, observer: BillingObserver | undefined) => {
  let byQueue = writers.get(db);
  if (!byQueue) {
    byQueue = new Map();
    writers.set(db, byQueue);
  }
  let writer = byQueue.get(queue);
  if (!writer) {
    writer = new ReceiptWriter(db, queue, observer);
    byQueue.set(queue, writer);
  }
  return writer;
};

/**
 * Resolves when every webhook this process received on `db` so far is stored and its customers' jobs
 * are added: a server that stops waits for it before closing its pool, and tests that look at the
 * queue right after a receipt wait for it too.
 */
export async function receiptsSettled(db: Db): Promise<void> {
  await Promise.all([...(writers.get(db)?.values() ?? [])].map((w) => w.settled()));
}

/** A bounded label for metrics: the handled types by name, anything else as `other`. */
export const eventTypeLabel = (type: string) => (HANDLED_EVENT_TYPES.has(type) ? type : 'other');

export interface WebhookReceipt {
  /** `queued`: stored for a worker; `duplicate`: seen before; `ignored`: not ours to apply. */
  outcome: 'queued' | 'duplicate' | 'ignored';
  eventId: string;
  type: string;
  /** The customer whose queue it joined. */
  customerId: string | null;
}

/**
 * The queue an event joins: its customer's. A dispute names no customer (only its payment), so it
 * waits under its charge until a worker reads the charge and moves it to the customer's queue.
 */
function queueKeyOf(obj: Record<string, unknown>, objectType: string | null): string | null {
  const customer = customerIdOf(obj);
  if (customer || objectType !== 'dispute') return customer;
  const charge = idOf(obj.charge);
  return charge && CHARGE_ID.test(charge) ? charge : null;
}

function recordOf(event: Stripe.Event): EventRecord {
  const obj = event.data.object as unknown as Record<string, unknown>;
  const objectType = typeof obj.object === 'string' ? obj.object.slice(0, 64) : null;
  const objectId = idOf(obj.id);
  return {
    id: event.id,
    type: event.type,
    created: event.created,
    customerId: queueKeyOf(obj, objectType),
    objectType,
    objectId: objectId && objectId.length <= 255 ? objectId : null,
    summary: {
      status: typeof obj.status === 'string' ? obj.status.slice(0, 32) : undefined,
      attempt_count: typeof obj.attempt_count === 'number' && Number.isSafeInteger(obj.attempt_count) ? obj.attempt_count : undefined,
      subscription: objectType === 'invoice' ? (invoiceSubscriptionId(obj) ?? undefined) : undefined,
    },
  };
}

/**
 * The webhook entry point: verify the signature, store the event once (deduplicated by id) and
 * return. It never calls Stripe and holds no lock: the acknowledgment is as fast as one short write.
 * Workers apply stored events per customer (`runStripeEventJobs`). Events of the other mode
 * (`livemode`), of connected accounts (`account`), of types we do not use, or naming no customer are
 * recorded as ignored and acknowledged, so Stripe does not retry them.
 */
export async function receiveStripeWebhook(
  deps: Pick<BillingDeps, 'db' | 'config' | 'observer' | 'clock' | 'queue'>,
  rawBody: Buffer | string,
  signature: unknown,
): Promise<WebhookReceipt> {
  const event = verifyStripeEvent(rawBody, signature, deps.config.webhookSecrets, deps.config.webhookToleranceSeconds);
  const record = recordOf(event);
  const foreign = (event as { account?: unknown }).account != null || event.livemode !== deps.config.livemode;
  const applicable = !foreign && HANDLED_EVENT_TYPES.has(event.type) && record.customerId !== null && record.objectId !== null;
  const stored = await receiptWriter(deps.db, queueOf(deps), deps.observer).store(record, applicable ? 'pending' : 'ignored');
  const outcome = !stored ? 'duplicate' : applicable ? 'queued' : 'ignored';
  deps.observer?.webhook?.({
    type: event.type,
    outcome,
    lagSeconds: Math.max(0, deps.clock.now().getTime() / 1000 - event.created),
  });
  return { outcome, eventId: event.id, type: event.type, customerId: applicable ? record.customerId : null };
}
