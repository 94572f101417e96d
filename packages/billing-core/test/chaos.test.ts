import { signPayload } from '@miniapp-billing/stripe-emulator';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BillingObserver, createCheckout, receiveStripeWebhook, runStripeEventJobs, type User } from '../src/index.ts';
import { type Harness, harness, pay, WEBHOOK_SECRET } from './harness.ts';

const USERS = Number(process.env.CHAOS_USERS ?? 200);
const DUPLICATE_RATE = 0.3;
const FAIL_FIRST_RATE = 0.1;
const CONCURRENCY = 8;

// Deterministic randomness so that a failure can be replayed.
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(() => h.close());

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

describe('delivery chaos', () => {
  it(`${USERS} lifecycles delivered shuffled, with duplicates and failed first attempts, end equal to Stripe`, async () => {
    const random = rng(20261126);
    const stripe = h.deps.stripe;
    const users: Array<{ user: User; customer: string }> = [];

    // 1. Lives: checkout and pay (some declined first), cancel at period end, change plan, failing cards.
    const plans = ['premium_monthly', 'vip_monthly', 'enterprise_monthly'];
    await pool(
      Array.from({ length: USERS }, (_, i) => i),
      CONCURRENCY,
      async (i) => {
        const user = await h.newUser(`chaos ${i}`);
        const { session_id } = await createCheckout(h.deps, { user, planId: plans[i % 3] as string });
        const customer = h.emulator.state.checkout.get(session_id).customer as string;
        users.push({ user, customer });
        if (i % 10 === 9) return; // never pays
        if (i % 10 === 3) await pay(h, session_id, 'card_declined');
        await pay(h, session_id);
        const sub = h.emulator.state.checkout.get(session_id).subscription as string;
        if (i % 4 === 0) await stripe.subscriptions.update(sub, { cancel_at_period_end: true });
        if (i % 5 === 1) {
          const item = (await stripe.subscriptions.retrieve(sub)).items.data[0] as Stripe.SubscriptionItem;
          await stripe.subscriptions.update(sub, {
            items: [{ id: item.id, price: 'price_enterprise_monthly' }],
            proration_behavior: 'always_invoice',
          });
        }
        if (i % 7 === 2) await h.control('POST', `/customers/${customer}/card`, { fails: true });
      },
    );
    await h.control('POST', '/clock/advance', { seconds: 31 * 86_400 });
    await h.control('POST', '/clock/advance', { seconds: 4 * 86_400 });

    // 2. Every event Stripe emitted, delivered shuffled, with duplicates, some first attempts failing.
    const events = [...h.emulator.state.events.values()] as unknown as Stripe.Event[];
    const deliveries: Array<{ event: Stripe.Event; failFirst: boolean }> = [];
    for (const event of events) {
      deliveries.push({ event, failFirst: random() < FAIL_FIRST_RATE });
      if (random() < DUPLICATE_RATE) deliveries.push({ event, failFirst: false });
    }
    for (let i = deliveries.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [deliveries[i], deliveries[j]] = [deliveries[j] as (typeof deliveries)[number], deliveries[i] as (typeof deliveries)[number]];
    }
    // Every delivery is acknowledged at once (stored, deduplicated); workers apply them afterwards.
    const receipts = { queued: 0, duplicate: 0, ignored: 0 };
    const started = Date.now();
    await pool(deliveries, CONCURRENCY, async ({ event }) => {
      const payload = JSON.stringify(event);
      const r = await receiveStripeWebhook(h.deps, Buffer.from(payload), signPayload(payload, WEBHOOK_SECRET));
      receipts[r.outcome] += 1;
    });
    // Workers, some of whose first runs meet a Stripe outage (its first reads answer 500), as several
    // processes would; what failed is retried with backoff and applied later.
    const applied = new Map<string, number>();
    let failedRuns = 0;
    let processedCallbacks = 0;
    const observer: BillingObserver = {
      webhook: ({ outcome }) => {
        if (outcome === 'processed') processedCallbacks += 1;
      },
      eventsFailed: () => {
        failedRuns += 1;
      },
    };
    const customersWaiting = Number(
      (
        await h.deps.db
          .selectFrom('stripe_events')
          .select((eb) => eb.fn.count('stripe_customer_id').distinct().as('n'))
          .where('status', '=', 'pending')
          .executeTakeFirstOrThrow()
      ).n,
    );
    const outage = Math.max(1, Math.floor(customersWaiting * FAIL_FIRST_RATE * 5));
    await h.control('POST', '/faults', { method: 'GET', path: '*', status: 500, count: outage });
    const workers = { backoffMs: () => 0, maxAttempts: 50 };
    await Promise.all(Array.from({ length: CONCURRENCY }, () => runStripeEventJobs({ ...h.deps, observer }, workers)));
    await h.control('DELETE', '/faults');
    const elapsed = Date.now() - started;
    const ledgerRows = await h.deps.db.selectFrom('stripe_events').select(['event_id', 'status', 'attempts']).execute();
    for (const r of ledgerRows) if (r.status === 'processed') applied.set(r.event_id, r.attempts);

    // 3. The database equals Stripe for every user.
    let mismatched = 0;
    for (const { user, customer } of users) {
      const remoteSubs = [...h.emulator.state.subscriptions.values()].filter((s) => s.customer === customer);
      const localSubs = await h.deps.db.selectFrom('subscriptions').selectAll().where('user_id', '=', user.id).execute();
      const remoteInvoices = [...h.emulator.state.invoices.values()].filter((i) => i.customer === customer);
      const localInvoices = await h.deps.db.selectFrom('invoices').selectAll().where('user_id', '=', user.id).execute();
      const subKey = (s: { id: string; status: string; price: string; cape: boolean; end: number | null }) =>
        `${s.id}|${s.status}|${s.price}|${s.cape}|${s.end}`;
      const remoteSubKeys = remoteSubs
        .map((s) =>
          subKey({
            id: s.id,
            status: s.status,
            price: s.items.data[0]?.price.id ?? '',
            cape: s.cancel_at_period_end,
            end: s.items.data[0]?.current_period_end ?? null,
          }),
        )
        .sort();
      const localSubKeys = localSubs
        .map((s) =>
          subKey({
            id: s.stripe_subscription_id,
            status: s.status,
            price: s.price_id,
            cape: s.cancel_at_period_end,
            end: s.current_period_end ? s.current_period_end.getTime() / 1000 : null,
          }),
        )
        .sort();
      const remoteInvKeys = remoteInvoices.map((i) => `${i.id}|${i.status}|${i.amount_paid}`).sort();
      const localInvKeys = localInvoices.map((i) => `${i.stripe_invoice_id}|${i.stripe_status}|${i.amount_paid}`).sort();
      if (JSON.stringify(remoteSubKeys) !== JSON.stringify(localSubKeys) || JSON.stringify(remoteInvKeys) !== JSON.stringify(localInvKeys))
        mismatched += 1;
    }

    const finalStatus = new Map(ledgerRows.map((r) => [r.event_id, r.status]));
    const lost = events.filter((e) => !['processed', 'ignored'].includes(finalStatus.get(e.id) ?? '')).length;
    // Every event is stored once, and applied by exactly one successful run.
    expect(receipts.queued + receipts.ignored).toBe(events.length);
    const processedTwice = processedCallbacks - applied.size;
    const activations = new Set(
      events
        .filter((e) => e.type.startsWith('customer.subscription.') && (e.data.object as Stripe.Subscription).status === 'active')
        .map((e) => (e.data.object as Stripe.Subscription).id),
    ).size;
    const notified = (await h.deps.db.selectFrom('billing_notifications').select('id').where('kind', '=', 'plan_activated').execute())
      .length;

    console.log(
      `webhook-chaos: users=${users.length} events=${events.length} deliveries=${deliveries.length} duplicates=${receipts.duplicate} failed_runs=${failedRuns} applied=${applied.size} mismatched_users=${mismatched} lost=${lost} processed_twice=${processedTwice} activations=${activations} notified=${notified} ms=${elapsed}`,
    );
    expect(mismatched).toBe(0);
    expect(lost).toBe(0);
    expect(processedTwice).toBe(0);
    expect(notified).toBe(activations);
    expect(failedRuns).toBeGreaterThan(0);
  }, 300_000);
});
