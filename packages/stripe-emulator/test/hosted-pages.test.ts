import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.ts';
import { withEmulator } from './helpers.ts';

let emulator: RunningEmulator;
let stripe: Stripe;

beforeAll(async () => {
  ({ emulator, stripe } = await withEmulator());
});
afterAll(() => emulator.close());

async function openSession() {
  const customer = await stripe.customers.create({ email: 'page@example.com' });
  const session = await stripe.checkout.sessions.create({
    mode: 'subscription',
    customer: customer.id,
    line_items: [{ price: 'price_vip_monthly' }],
    success_url: 'https://app.example.com/billing/success?session_id={CHECKOUT_SESSION_ID}',
    cancel_url: 'https://app.example.com/billing/cancel',
  });
  return { customer, session };
}

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
  redirect: 'manual' as const,
});

describe('hosted checkout page', () => {
  it('shows the plan, the amount, Pay and Cancel', async () => {
    const { session } = await openSession();
    const html = await (await fetch(session.url as string)).text();
    expect(html).toContain('VIP');
    expect(html).toContain('$99.00');
    expect(html).toMatch(/<button type="submit">Pay \$99\.00<\/button>/);
    expect(html).toContain('href="https://app.example.com/billing/cancel"');
  });

  it('Pay redirects to the success URL with the session id substituted', async () => {
    const { session } = await openSession();
    const res = await fetch(`${emulator.url}/checkout/${session.id}/pay`, form({ card: '4242 4242 4242 4242' }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`https://app.example.com/billing/success?session_id=${session.id}`);
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('complete');
    const again = await fetch(`${emulator.url}/checkout/${session.id}/pay`, form({}));
    expect(again.status).toBe(400);
  });

  it('the decline test card shows an error and keeps the session open', async () => {
    const { session } = await openSession();
    const res = await fetch(`${emulator.url}/checkout/${session.id}/pay`, form({ card: '4000 0000 0000 0002' }));
    expect(res.status).toBe(402);
    expect(await res.text()).toContain('Your card was declined');
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');
  });

  it('answers 404 for an unknown session', async () => {
    expect((await fetch(`${emulator.url}/checkout/cs_test_nope`)).status).toBe(404);
  });
});

describe('hosted portal and invoices', () => {
  it('shows the current plan and cancels at period end, resumes and changes plan', async () => {
    const { customer, session } = await openSession();
    await fetch(`${emulator.url}/checkout/${session.id}/pay`, form({}));
    const portal = await stripe.billingPortal.sessions.create({ customer: customer.id, return_url: 'https://app.example.com/billing' });
    const page = await (await fetch(portal.url)).text();
    expect(page).toContain('Current plan');
    expect(page).toContain('VIP');
    expect(page).toContain('Cancel plan');
    expect(page).toContain('href="https://app.example.com/billing"');
    const sub = (await stripe.subscriptions.list({ customer: customer.id })).data[0] as Stripe.Subscription;

    const canceled = await fetch(`${emulator.url}/portal/${portal.id}/subscriptions/${sub.id}/cancel`, form({}));
    expect(await canceled.text()).toContain('will be canceled on');
    expect((await stripe.subscriptions.retrieve(sub.id)).cancel_at_period_end).toBe(true);

    await fetch(`${emulator.url}/portal/${portal.id}/subscriptions/${sub.id}/resume`, form({}));
    expect((await stripe.subscriptions.retrieve(sub.id)).cancel_at_period_end).toBe(false);

    await fetch(`${emulator.url}/portal/${portal.id}/subscriptions/${sub.id}/update`, form({ price: 'price_premium_monthly' }));
    expect((await stripe.subscriptions.retrieve(sub.id)).items.data[0]?.price.id).toBe('price_premium_monthly');
  });

  it('refuses actions on another customer’s subscription', async () => {
    const a = await openSession();
    await fetch(`${emulator.url}/checkout/${a.session.id}/pay`, form({}));
    const subA = (await stripe.subscriptions.list({ customer: a.customer.id })).data[0] as Stripe.Subscription;
    const other = await stripe.customers.create({});
    const portal = await stripe.billingPortal.sessions.create({ customer: other.id });
    const res = await fetch(`${emulator.url}/portal/${portal.id}/subscriptions/${subA.id}/cancel`, form({}));
    expect(res.status).toBe(404);
    expect((await stripe.subscriptions.retrieve(subA.id)).cancel_at_period_end).toBe(false);
  });

  it('serves a real PDF and a hosted page for each invoice', async () => {
    const { customer, session } = await openSession();
    await fetch(`${emulator.url}/checkout/${session.id}/pay`, form({}));
    const invoice = (await stripe.invoices.list({ customer: customer.id })).data[0] as Stripe.Invoice;
    const pdf = await fetch(invoice.invoice_pdf as string);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    const bytes = Buffer.from(await pdf.arrayBuffer());
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    expect(bytes.subarray(-6).toString()).toContain('%%EOF');
    const hosted = await (await fetch(invoice.hosted_invoice_url as string)).text();
    expect(hosted).toContain('$99.00');
  });
});
