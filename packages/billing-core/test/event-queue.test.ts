import { signPayload } from '@miniapp-billing/stripe-emulator';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  changePlan,
  createCheckout,
  createUser,
  getSubscription,
  queueStats,
  receiptsSettled,
  receiveStripeWebhook,
  replayEvents,
  runStripeEventJobs,
  type User,
} from '../src/index.ts';
import { createTestDatabase } from '../src/testing.ts';
import { enqueueCustomers, storeEvents } from '../src/webhooks/event.repository.ts';
import { queueOf } from '../src/webhooks/event-queue.ts';
import { type Harness, harness, pay, WEBHOOK_SECRET } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(() => h.close());

const receive = (event: unknown) => {
  const payload = JSON.stringify(event);
  return receiveStripeWebhook(h.deps, Buffer.from(payload), signPayload(payload, WEBHOOK_SECRET));
};
const eventRow = (id: string) => h.deps.db.selectFrom('stripe_events').selectAll().where('event_id', '=', id).executeTakeFirst();
const stripeRequests = (method: string, prefix: string) =>
  h.emulator.requests.filter((r) => r.method === method && r.path.startsWith(prefix));
let n = 0;
const event = (type: string, object: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: `evt_queue_${++n}_${Date.now()}`,
  object: 'event',
  type,
  created: Math.floor(Date.now() / 1000),
  livemode: false,
  data: { object },
  ...extra,
});

async function paidUser(): Promise<{ user: User; customer: string; subscription: string }> {
  const user = await h.newUser();
  const { session_id } = await createCheckout(h.deps, { user, planId: 'premium_monthly' });
  await pay(h, session_id);
  const session = h.emulator.state.checkout.get(session_id);
  const subscription = session.subscription as string;
  // Apply what Stripe said, as a worker would.
  await receive(event('customer.subscription.created', { id: subscription, object: 'subscription', customer: session.customer }));
  await h.drain();
  return { user, customer: session.customer as string, subscription };
}

describe('the webhook is only a receipt', () => {
  it('stores and acknowledges without calling Stripe; the worker applies it later', async () => {
    const { user, customer, subscription } = await paidUser();
    h.emulator.state.updateSubscription(subscription, { cancel_at_period_end: true }, { id: null, idempotency_key: null });
    const before = h.emulator.requests.length;
    const receipt = await receive(event('customer.subscription.updated', { id: subscription, object: 'subscription', customer }));
    expect(receipt.outcome).toBe('queued');
    expect(h.emulator.requests.length).toBe(before);
    expect((await getSubscription(h.deps, user)).cancel_at_period_end).toBe(false);
    await h.drain();
    expect((await getSubscription(h.deps, user)).cancel_at_period_end).toBe(true);
    expect(await eventRow(receipt.eventId)).toMatchObject({ status: 'processed', attempts: 1 });
  });

  it('receipts that arrive together over several customers leave one waiting job per customer', async () => {
    const paid = await Promise.all([paidUser(), paidUser(), paidUser(), paidUser()]);
    const jobs = async () => (await queueStats(h.deps.db, queueOf(h.deps))).jobs;
    const updated = (i: number) => {
      const { customer, subscription } = paid[i % 4] as (typeof paid)[number];
      return receive(event('customer.subscription.updated', { id: subscription, object: 'subscription', customer }));
    };
    // Twelve at once, written together (group commit): three events for each of four customers.
    const receipts = await Promise.all(Array.from({ length: 12 }, (_, i) => updated(i)));
    expect(receipts.map((r) => r.outcome)).toEqual(Array(12).fill('queued'));
    // On graphile-worker the jobs are added just after the acknowledgment.
    await receiptsSettled(h.deps.db);
    expect(await jobs()).toBe(4);
    // A waiting customer's next event folds into their job; an ignored event adds none.
    const [more, ignored] = await Promise.all([
      updated(0),
      receive(event('customer.updated', { id: paid[1]?.customer, object: 'customer' })),
    ]);
    expect([more.outcome, ignored.outcome]).toEqual(['queued', 'ignored']);
    await receiptsSettled(h.deps.db);
    expect(await jobs()).toBe(4);
    await h.drain();
    expect(await jobs()).toBe(0);
    for (const r of [...receipts, more]) expect(await eventRow(r.eventId)).toMatchObject({ status: 'processed' });
  });

  it('a receipt statement stores each event as given, once, whatever its summary holds', async () => {
    const at = Date.now();
    const record = (id: string, customerId: string | null, summary: Record<string, unknown>) => ({
      id: `evt_columns_${id}_${at}`,
      type: customerId ? 'invoice.paid' : 'customer.updated',
      created: 1_700_000_000 + id.length,
      customerId,
      objectType: customerId ? 'invoice' : null,
      objectId: customerId ? `in_columns_${id}` : null,
      summary,
    });
    const awkward = { status: 'a "quoted", {braced} \\ back\\slashed ünïcode', attempt_count: 3, subscription: 'sub_x' };
    const first = record('first', `cus_columns_${at}`, awkward);
    const ignored = record('ignored', null, {});
    const stored = await storeEvents(h.deps.db, queueOf(h.deps), [
      { record: first, status: 'pending' },
      { record: ignored, status: 'ignored' },
      // The same id twice in one batch: stored once.
      { record: { ...first, type: 'invoice.voided' }, status: 'pending' },
    ]);
    // Made-up events: gone again, and their customer's job run empty, whatever the assertions below
    // say (a job left waiting would be counted by the tests after this one).
    onTestFinished(async () => {
      await enqueueCustomers(h.deps.db, queueOf(h.deps), stored.unqueued);
      await h.deps.db.deleteFrom('stripe_events').where('event_id', 'like', `evt_columns_%_${at}`).execute();
      await h.drain();
    });
    expect([...stored.ids].sort()).toEqual([first.id, ignored.id].sort());
    const again = await storeEvents(h.deps.db, queueOf(h.deps), [{ record: first, status: 'pending' }]);
    expect(again.ids.size).toBe(0);
    expect(again.unqueued).toEqual([]);
    const firstRow = await eventRow(first.id);
    expect(Number(firstRow?.stripe_created)).toBe(first.created);
    expect(firstRow).toMatchObject({
      type: 'invoice.paid',
      stripe_customer_id: first.customerId,
      object_type: 'invoice',
      object_id: 'in_columns_first',
      summary: awkward,
      status: 'pending',
      attempts: 0,
      processed_at: null,
    });
    const ignoredRow = await eventRow(ignored.id);
    expect(ignoredRow).toMatchObject({ stripe_customer_id: null, object_type: null, object_id: null, summary: {}, status: 'ignored' });
    expect(ignoredRow?.processed_at).toBeInstanceOf(Date);
  });

  it('receipts storing events of the same customers at once never deadlock, whatever order they list them in', async () => {
    // Six receipts at a time (the events stored, then their customers' jobs added, as receipts in
    // several processes do), each over its own share of forty customers new to the queue (so their
    // queue rows are written too), listed in its own order, twenty times. On PostgreSQL each statement
    // has a connection of its own; a deadlock would fail one of them after deadlock_timeout.
    const jobs = async () => (await queueStats(h.deps.db, queueOf(h.deps))).jobs;
    const before = await jobs();
    const shuffled = <T>(xs: T[]) =>
      xs
        .map((x) => [Math.random(), x] as const)
        .sort((a, b) => a[0] - b[0])
        .map(([, x]) => x);
    const customers = new Set<string>();
    for (let round = 0; round < 20; round++) {
      const cs = Array.from({ length: 40 }, (_, i) => `cus_lockorder_${round}_${i}_${Date.now()}`);
      const shares = Array.from({ length: 6 }, () => shuffled(cs).slice(0, 2 + Math.floor(Math.random() * 39)));
      const stored = await Promise.all(
        shares.map((share, k) =>
          storeEvents(
            h.deps.db,
            queueOf(h.deps),
            share.map((customer, i) => ({
              record: {
                id: `evt_lockorder_${round}_${k}_${i}_${Date.now()}`,
                type: 'customer.subscription.updated',
                created: Math.floor(Date.now() / 1000),
                customerId: customer,
                objectType: 'subscription',
                objectId: `sub_lockorder_${round}_${i}`,
                summary: {},
              },
              status: 'pending' as const,
            })),
          ).then(async (stored) => {
            await enqueueCustomers(h.deps.db, queueOf(h.deps), stored.unqueued);
            return stored;
          }),
        ),
      );
      expect(stored.map((s) => s.ids.size)).toEqual(shares.map((share) => share.length));
      for (const share of shares) for (const c of share) customers.add(c);
    }
    // One waiting job per customer.
    expect((await jobs()) - before).toBe(customers.size);
    // Made-up customers: their events go, and their jobs then run empty.
    await h.deps.db.deleteFrom('stripe_events').where('event_id', 'like', 'evt_lockorder_%').execute();
    await h.drain();
    expect(await jobs()).toBe(0);
  });

  it('a read taken before a concurrent plan change never passes for newer than it, however long the run takes', async () => {
    const { user, customer, subscription } = await paidUser();
    const session = [...h.emulator.state.checkoutSessions.values()].find((s) => s.subscription === subscription);
    const invoice = h.emulator.state.getSubscription(subscription).latest_invoice as string;
    // The run reads the session (and its subscription, still Premium) at once, then waits on a slow invoice read.
    await receive(event('checkout.session.completed', { id: session?.id, object: 'checkout.session', customer }));
    await receive(event('invoice.paid', { id: invoice, object: 'invoice', customer }));
    await h.control('POST', '/faults', { method: 'GET', path: `/v1/invoices/${invoice}`, delay_ms: 800, count: 1 });
    const run = h.drain();
    await new Promise((r) => setTimeout(r, 300));
    // Meanwhile the person changes plan; Stripe answers VIP and the mirror shows it.
    expect((await changePlan(h.deps, { user, planId: 'vip_monthly' })).tier).toBe('vip_monthly');
    await run;
    expect((await getSubscription(h.deps, user)).tier).toBe('vip_monthly');
  });

  it('several events of one customer are coalesced into one re-read of each object', async () => {
    const { customer, subscription } = await paidUser();
    const before = stripeRequests('GET', `/v1/subscriptions/${subscription}`).length;
    for (let i = 0; i < 12; i++)
      await receive(event('customer.subscription.updated', { id: subscription, object: 'subscription', customer }));
    const runs = await h.drain();
    expect(runs).toBe(1);
    expect(stripeRequests('GET', `/v1/subscriptions/${subscription}`).length - before).toBe(1);
  });

  it('events of the other mode, of connected accounts and of unused types are acknowledged and ignored', async () => {
    const { customer, subscription } = await paidUser();
    const object = { id: subscription, object: 'subscription', customer };
    for (const e of [
      event('customer.subscription.updated', object, { livemode: true }),
      event('customer.subscription.updated', object, { account: 'acct_someone_else' }),
      event('product.created', { id: 'prod_x', object: 'product' }),
    ]) {
      expect((await receive(e)).outcome).toBe('ignored');
      expect((await eventRow(e.id))?.status).toBe('ignored');
    }
  });

  it('a signed event with an impossible `created` is refused as invalid, not stored', async () => {
    const e = event('customer.subscription.updated', { id: 'sub_x', object: 'subscription', customer: 'cus_x' }, { created: 1e20 });
    await expect(receive(e)).rejects.toMatchObject({ code: 'WEBHOOK_PAYLOAD_INVALID' });
    expect(await eventRow(e.id)).toBeUndefined();
  });
});

describe('ownership comes from the re-read object', () => {
  it('an event naming customer A and B’s subscription moves nothing to A', async () => {
    const a = await paidUser();
    const b = await paidUser();
    const forged = event('customer.subscription.updated', { id: b.subscription, object: 'subscription', customer: a.customer });
    expect((await receive(forged)).outcome).toBe('queued');
    await h.drain();
    const row = await h.deps.db
      .selectFrom('subscriptions')
      .selectAll()
      .where('stripe_subscription_id', '=', b.subscription)
      .executeTakeFirstOrThrow();
    expect(row.user_id).toBe(b.user.id);
    expect(row.stripe_customer_id).toBe(b.customer);
    const aSubs = await h.deps.db.selectFrom('subscriptions').select('stripe_subscription_id').where('user_id', '=', a.user.id).execute();
    expect(aSubs.map((s) => s.stripe_subscription_id)).toEqual([a.subscription]);
  });

  it('an event about an object Stripe reports gone is applied as gone, not retried', async () => {
    const { customer } = await paidUser();
    const e = event('customer.subscription.updated', { id: 'sub_never_existed', object: 'subscription', customer });
    await receive(e);
    await h.drain();
    expect(await eventRow(e.id)).toMatchObject({ status: 'processed', attempts: 1, last_error: null });
    // Nothing is left to run for it: no retry is waiting.
    expect(await h.drain()).toBe(0);
  });
});

describe('customer.deleted', () => {
  it('clears the mapping and ends the subscriptions; the next checkout makes a new customer', async () => {
    const { user, customer } = await paidUser();
    h.emulator.state.deleteCustomer(customer, { id: null, idempotency_key: null });
    await receive(event('customer.deleted', { id: customer, object: 'customer' }));
    await h.drain();
    expect(await h.deps.db.selectFrom('stripe_customers').selectAll().where('user_id', '=', user.id).execute()).toEqual([]);
    expect(await getSubscription(h.deps, user)).toMatchObject({ tier: 'free', has_access: false });
    const next = await createCheckout(h.deps, { user, planId: 'vip_monthly' });
    const session = h.emulator.state.checkout.get(next.session_id);
    expect(session.customer).not.toBe(customer);
    expect(h.emulator.state.getCustomer(session.customer as string).metadata.user_id).toBe(user.id);
  });

  it('checkout heals itself when Stripe deleted the stored customer and no event came', async () => {
    const user = await h.newUser();
    const first = await createCheckout(h.deps, { user, planId: 'premium_monthly' });
    const customer = h.emulator.state.checkout.get(first.session_id).customer as string;
    h.emulator.state.deleteCustomer(customer, { id: null, idempotency_key: null });
    const second = await createCheckout(h.deps, { user, planId: 'vip_monthly' });
    const healed = h.emulator.state.checkout.get(second.session_id).customer as string;
    expect(healed).not.toBe(customer);
    const mapping = await h.deps.db.selectFrom('stripe_customers').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(mapping.stripe_customer_id).toBe(healed);
  });
});

describe('failures, backoff and dead events', () => {
  it('a customer whose events keep failing is parked as dead after the last attempt, and a replay applies them', async () => {
    const { user, customer, subscription } = await paidUser();
    h.emulator.state.updateSubscription(subscription, { cancel_at_period_end: true }, { id: null, idempotency_key: null });
    const e = event('customer.subscription.updated', { id: subscription, object: 'subscription', customer });
    await receive(e);
    await h.control('POST', '/faults', { method: 'GET', path: '/v1/subscriptions/*', status: 500, count: 1000 });
    const failures: Array<{ attempt: number; dead: boolean; cause: string }> = [];
    const deps = { ...h.deps, observer: { eventsFailed: (f: { attempt: number; dead: boolean; cause: string }) => void failures.push(f) } };
    await runStripeEventJobs(deps, { maxAttempts: 3, backoffMs: () => 0 });
    await h.control('DELETE', '/faults');
    expect(failures.map((f) => [f.attempt, f.dead, f.cause])).toEqual([
      [1, false, 'STRIPE_UNAVAILABLE'],
      [2, false, 'STRIPE_UNAVAILABLE'],
      [3, true, 'STRIPE_UNAVAILABLE'],
    ]);
    expect(await eventRow(e.id)).toMatchObject({ status: 'dead', attempts: 3, last_error: 'STRIPE_UNAVAILABLE' });
    expect((await getSubscription(h.deps, user)).cancel_at_period_end).toBe(false);

    expect(await replayEvents(h.deps.db, h.database.queue, 'all-dead')).toBe(1);
    await h.drain();
    expect(await eventRow(e.id)).toMatchObject({ status: 'processed' });
    expect((await getSubscription(h.deps, user)).cancel_at_period_end).toBe(true);
  });
});

describe('after the apply, before the job is done', () => {
  it('a second live subscription is canceled; when Stripe fails that, the run is retried, not left finished', async () => {
    const { customer, subscription } = await paidUser();
    const extra = await h.deps.stripe.subscriptions.create({ customer, items: [{ price: 'price_vip_monthly' }] });
    const e = event('customer.subscription.created', { id: extra.id, object: 'subscription', customer });
    await receive(e);
    // Stripe refuses the cancel once (the SDK's own retries included): the run fails after its apply.
    await h.control('POST', '/faults', { method: 'DELETE', path: `/v1/subscriptions/${extra.id}`, status: 500, count: 3 });
    const failures: Array<{ attempt: number; dead: boolean }> = [];
    const deps = { ...h.deps, observer: { eventsFailed: (f: { attempt: number; dead: boolean }) => void failures.push(f) } };
    await runStripeEventJobs(deps, { backoffMs: () => 0 });
    await h.control('DELETE', '/faults');
    // The failed run was not left finished: it ran again and the cancel went through.
    expect(failures.map((f) => [f.attempt, f.dead])).toEqual([[1, false]]);
    expect(await eventRow(e.id)).toMatchObject({ status: 'processed', attempts: 2 });
    expect(h.emulator.state.getSubscription(extra.id).status).toBe('canceled');
    expect(h.emulator.state.getSubscription(subscription).status).toBe('active');
  });
});

describe('no database connection waits on Stripe', () => {
  it('with one connection in the pool, a read answers while a worker and a checkout still wait on a slow Stripe', async () => {
    // One connection: if anything held it across a Stripe call, the read below would wait with it.
    const database = await createTestDatabase({
      postgres: !!process.env.TEST_DATABASE_URL,
      url: process.env.TEST_DATABASE_URL,
      poolSize: 1,
    });
    const deps = { ...h.deps, db: database.db };
    try {
      const user = await createUser(database.db, { name: 'one connection' });
      const first = await createCheckout(deps, { user, planId: 'premium_monthly' });
      await pay(h, first.session_id);
      const session = h.emulator.state.checkout.get(first.session_id);
      await h.control('POST', '/faults', { method: 'GET', path: '/v1/subscriptions/*', delay_ms: 800, count: 1 });
      await h.control('POST', '/faults', { method: 'POST', path: '/v1/customers', delay_ms: 800, count: 1 });
      const payload = JSON.stringify(
        event('customer.subscription.created', { id: session.subscription, object: 'subscription', customer: session.customer }),
      );
      await receiveStripeWebhook(deps, Buffer.from(payload), signPayload(payload, WEBHOOK_SECRET));
      const draining = runStripeEventJobs(deps);
      const other = await createUser(database.db, { name: 'another person' });
      const checkingOut = createCheckout(deps, { user: other, planId: 'vip_monthly' });
      let stripeAnswered = false;
      void Promise.all([draining, checkingOut]).then(() => {
        stripeAnswered = true;
      });
      await new Promise((r) => setTimeout(r, 150));
      // The read finishes while both are still waiting on Stripe: neither holds the one connection.
      expect((await getSubscription(deps, user)).tier).toBe('free');
      expect(stripeAnswered).toBe(false);
      await Promise.all([draining, checkingOut]);
      expect((await getSubscription(deps, user)).tier).toBe('premium_monthly');
    } finally {
      await h.control('DELETE', '/faults');
      await database.close();
    }
  });
});
