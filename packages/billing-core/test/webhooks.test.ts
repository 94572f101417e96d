import { STRIPE_LIKE, signPayload } from '@miniapp-billing/stripe-emulator';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckout, getSubscription, listInvoices, receiveStripeWebhook, type User } from '../src/index.ts';
import { type Harness, harness, pay, WEBHOOK_SECRET } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness({ config: { webhookSecrets: [WEBHOOK_SECRET, 'whsec_next_secret'] } });
});
afterAll(() => h.close());

const receive = (body: Buffer, signature: unknown) => receiveStripeWebhook(h.deps, body, signature);

const eventRows = () => h.deps.db.selectFrom('stripe_events').selectAll().execute();

/** Receives a signed event, lets the worker apply what is due, and says what became of it. */
const deliver = async (event: unknown, secret = WEBHOOK_SECRET) => {
  const payload = JSON.stringify(event);
  const receipt = await receive(Buffer.from(payload), signPayload(payload, secret));
  await h.drain();
  if (receipt.outcome !== 'queued') return receipt;
  const row = (await eventRows()).find((r) => r.event_id === receipt.eventId);
  return { ...receipt, outcome: row?.status };
};

/** A paid subscription for a new user, and every event Stripe emitted for it, oldest first. */
async function paidUser(plan = 'premium_monthly'): Promise<{ user: User; events: Stripe.Event[]; customer: string; subscription: string }> {
  const user = await h.newUser();
  const { session_id } = await createCheckout(h.deps, { user, planId: plan });
  const since = h.emulator.state.events.size;
  await pay(h, session_id);
  const events = [...h.emulator.state.events.values()].slice(since) as unknown as Stripe.Event[];
  const session = h.emulator.state.checkout.get(session_id);
  return { user, events, customer: session.customer as string, subscription: session.subscription as string };
}

const sync = (user: User) => getSubscription(h.deps, user);

describe('webhook authenticity', () => {
  it('refuses missing, foreign and tampered signatures and writes nothing', async () => {
    const { events } = await paidUser();
    const before = (await eventRows()).length;
    const event = events[0];
    const payload = JSON.stringify(event);
    const cases: Array<[Buffer, unknown]> = [
      [Buffer.from(payload), undefined],
      [Buffer.from(payload), ''],
      [Buffer.from(payload), signPayload(payload, 'whsec_someone_else')],
      [
        Buffer.from(payload.replace('"livemode": false', '"livemode": true').replace('"livemode":false', '"livemode":true')),
        signPayload(payload, WEBHOOK_SECRET),
      ],
      [Buffer.from(payload), [signPayload(payload, WEBHOOK_SECRET)]],
      [Buffer.from(payload), signPayload(payload, WEBHOOK_SECRET, Math.floor(Date.now() / 1000) - 301)],
    ];
    for (const [body, sig] of cases) {
      await expect(receive(body, sig)).rejects.toMatchObject({ code: 'WEBHOOK_SIGNATURE_INVALID' });
    }
    expect((await eventRows()).length).toBe(before);
  });

  it('accepts either secret during rotation', async () => {
    const { events } = await paidUser();
    expect((await deliver(events[0], 'whsec_next_secret')).outcome).not.toBe('failed');
    expect((await deliver(events[1], WEBHOOK_SECRET)).outcome).not.toBe('failed');
  });

  it('refuses a body over 1 MB before verifying it', async () => {
    const body = Buffer.alloc(1024 * 1024 + 1, 'a');
    await expect(receive(body, signPayload(body.toString(), WEBHOOK_SECRET))).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
  });

  it('acknowledges an unknown event type as ignored and records it', async () => {
    const event = {
      id: 'evt_unknown_type_1',
      object: 'event',
      type: 'product.created',
      created: Math.floor(Date.now() / 1000),
      data: { object: { id: 'prod_1', object: 'product' } },
    };
    expect((await deliver(event)).outcome).toBe('ignored');
    expect((await deliver(event)).outcome).toBe('duplicate');
    const row = (await eventRows()).find((r) => r.event_id === 'evt_unknown_type_1');
    expect(row?.status).toBe('ignored');
  });

  it('a signed body that is not an event is refused as invalid', async () => {
    const payload = '{"hello":"world"}';
    await expect(receive(Buffer.from(payload), signPayload(payload, WEBHOOK_SECRET))).rejects.toMatchObject({
      code: 'WEBHOOK_PAYLOAD_INVALID',
    });
    await expect(receive(Buffer.from('not json'), signPayload('not json', WEBHOOK_SECRET))).rejects.toMatchObject({
      code: 'WEBHOOK_PAYLOAD_INVALID',
    });
  });
});

describe('order and duplicates', () => {
  it('applies `updated` delivered before `created`', async () => {
    const { user, events, subscription } = await paidUser();
    h.emulator.state.updateSubscription(subscription, { cancel_at_period_end: true }, { id: null, idempotency_key: null });
    const updated = [...h.emulator.state.events.values()].at(-1) as unknown as Stripe.Event;
    const created = events.find((e) => e.type === 'customer.subscription.created');
    expect((await deliver(updated)).outcome).toBe('processed');
    expect((await deliver(created)).outcome).toBe('processed');
    expect(await sync(user)).toMatchObject({ tier: 'premium_monthly', status: 'active', cancel_at_period_end: true });
  });

  it('a stale `updated` arriving after `deleted` leaves the subscription canceled', async () => {
    const { user, events, subscription } = await paidUser();
    const stale = {
      ...(events.find((e) => e.type === 'customer.subscription.created') as Stripe.Event),
      id: 'evt_stale_update',
      type: 'customer.subscription.updated',
    };
    h.emulator.state.cancelSubscription(subscription, { id: null, idempotency_key: null });
    const deleted = [...h.emulator.state.events.values()].find(
      (e) => e.type === 'customer.subscription.deleted' && (e.data.object as { id: string }).id === subscription,
    );
    await deliver(deleted);
    await deliver(stale);
    const view = await sync(user);
    expect(view.status).toBe('canceled');
    expect(view.tier).toBe('free');
    const row = await h.deps.db
      .selectFrom('subscriptions')
      .selectAll()
      .where('stripe_subscription_id', '=', subscription)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('canceled');
  });

  it('`invoice.paid` before the subscription exists stores both', async () => {
    const { user, events } = await paidUser('vip_monthly');
    const paid = events.find((e) => e.type === 'invoice.paid');
    expect((await deliver(paid)).outcome).toBe('processed');
    expect(await sync(user)).toMatchObject({ tier: 'vip_monthly', status: 'active' });
    expect((await listInvoices(h.deps, user)).map((i) => i.status)).toEqual(['paid']);
  });

  it('the same event 20 times at once is stored and processed once', async () => {
    const { user, events } = await paidUser();
    const created = events.find((e) => e.type === 'customer.subscription.created');
    const payload = JSON.stringify(created);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => receive(Buffer.from(payload), signPayload(payload, WEBHOOK_SECRET))),
    );
    expect(results.filter((r) => r.outcome === 'queued')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'duplicate')).toHaveLength(19);
    await Promise.all([h.drain(), h.drain(), h.drain()]);
    expect((await eventRows()).find((r) => r.event_id === created?.id)).toMatchObject({ status: 'processed', attempts: 1 });
    const notes = await h.deps.db.selectFrom('billing_notifications').selectAll().where('user_id', '=', user.id).execute();
    expect(notes.filter((n) => n.kind === 'plan_activated')).toHaveLength(1);
  });

  it('an event whose processing fails is acknowledged, retried with backoff, and the retry applies it', async () => {
    const { user, events } = await paidUser();
    const created = events.find((e) => e.type === 'customer.subscription.created') as Stripe.Event;
    // Stripe is down for the re-read (more failures than the SDK retries).
    await h.control('POST', '/faults', { method: 'GET', path: '/v1/subscriptions/*', status: 503, count: 3 });
    const first = await deliver(created);
    expect(first.outcome).toBe('failed');
    const failed = (await eventRows()).find((r) => r.event_id === created.id);
    expect(failed).toMatchObject({ status: 'failed', last_error: 'STRIPE_UNAVAILABLE', attempts: 1 });
    expect(failed?.next_attempt_at).toBeInstanceOf(Date);
    expect((await sync(user)).tier).toBe('free');
    // Stripe's own redelivery is a duplicate now: the retry is the worker's, after its backoff.
    expect((await deliver(created)).outcome).toBe('duplicate');
    await new Promise((r) => setTimeout(r, 60));
    await h.drain();
    expect(await sync(user)).toMatchObject({ tier: 'premium_monthly', status: 'active' });
    expect((await eventRows()).find((r) => r.event_id === created.id)).toMatchObject({ status: 'processed', attempts: 2 });
  });
});

describe.each([
  ['at once and in order', undefined],
  ['like Stripe: latency, rate limit, concurrent and unordered', STRIPE_LIKE],
])('delivered over HTTP by the emulator, %s', (_how, realism) => {
  it('a paid checkout shows up from webhooks alone, and renewal, failure and cancellation follow', async () => {
    const w = await harness({ webhooks: true, ...(realism ? { realism } : {}) });
    try {
      const user = await w.newUser();
      const { session_id } = await createCheckout(w.deps, { user, planId: 'premium_monthly' });
      await pay(w, session_id);
      await w.settle();
      expect(await getSubscription(w.deps, user)).toMatchObject({ tier: 'premium_monthly', status: 'active' });

      const customer = w.emulator.state.checkout.get(session_id).customer as string;
      await w.control('POST', `/customers/${customer}/card`, { fails: true });
      await w.control('POST', '/clock/advance', { seconds: 31 * 86_400 });
      await w.settle();
      const pastDue = await getSubscription(w.deps, user);
      expect(pastDue.status).toBe('past_due');
      expect((await listInvoices(w.deps, user)).map((i) => i.status)).toEqual(['past_due', 'paid']);

      await w.control('POST', `/customers/${customer}/card`, { fails: false });
      await w.control('POST', '/clock/advance', { seconds: 3 * 86_400 + 60 });
      await w.settle();
      expect((await getSubscription(w.deps, user)).status).toBe('active');
      expect((await listInvoices(w.deps, user)).map((i) => i.status)).toEqual(['paid', 'paid']);
      const failures = w.emulator.webhooks.log.filter((d) => d.status !== 200);
      expect(failures).toEqual([]);
    } finally {
      await w.close();
    }
  });
});
