import type Stripe from 'stripe';
import type { NewInvoice } from '../db/schema.ts';
import { idOf, invoiceSubscriptionId } from '../stripe/ids.ts';

/** The price of an invoice's largest line (a plan change bills a credit and a charge: the charge is the new plan). */
function mainPrice(inv: Stripe.Invoice): string | null {
  let best: { amount: number; price: string } | null = null;
  for (const line of inv.lines?.data ?? []) {
    const details = (line as { pricing?: { price_details?: { price?: unknown } | null } | null }).pricing?.price_details;
    const price = idOf(details?.price);
    if (price && (!best || line.amount > best.amount)) best = { amount: line.amount, price };
  }
  return best?.price ?? null;
}

/** Stripe invoice → row (beside `subscription.mapper.ts`: every Stripe object is mapped in a mapper). */
export function invoiceRowFrom(inv: Stripe.Invoice, userId: string, readAt: number): NewInvoice {
  return {
    stripe_invoice_id: inv.id as string,
    user_id: userId,
    stripe_customer_id: idOf(inv.customer) ?? '',
    stripe_subscription_id: invoiceSubscriptionId(inv),
    number: inv.number,
    stripe_status: inv.status ?? 'draft',
    amount_due: inv.amount_due,
    amount_paid: inv.amount_paid,
    amount_remaining: inv.amount_remaining,
    currency: inv.currency,
    description: inv.description ?? inv.lines?.data?.[0]?.description ?? null,
    billing_reason: inv.billing_reason,
    attempt_count: inv.attempt_count,
    due_date: inv.due_date,
    period_start: inv.period_start,
    period_end: inv.period_end,
    hosted_invoice_url: inv.hosted_invoice_url ?? null,
    invoice_pdf: inv.invoice_pdf ?? null,
    price_id: mainPrice(inv),
    stripe_created: inv.created,
    state_read_at: readAt,
  };
}
