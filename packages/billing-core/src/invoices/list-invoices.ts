import type { InvoiceRow } from '../db/schema.ts';
import type { BillingDeps } from '../deps.ts';
import { BillingError } from '../errors.ts';
import type { Plan } from '../plans/plans.ts';
import type { User } from '../users/user.repository.ts';
import { findInvoice, findStarPaymentCursor, type InvoiceViewRow, listInvoicePage } from './invoice.repository.ts';

export type InvoiceBadge = 'paid' | 'open' | 'past_due' | 'draft' | 'canceled' | 'uncollectible';

/** One row of the invoice history: the contract of `GET /billing/invoices`. */
export interface InvoicePurpose {
  /** `create`: the first invoice; `cycle`: a renewal; `update`: a plan change; `stars`, `stars_renewal`: Telegram Stars. */
  kind: 'create' | 'cycle' | 'update' | 'stars' | 'stars_renewal';
  plan_name: string;
  /** The plan's billing interval (`month`, `year`); for Stars, 30 days. */
  interval: string;
}

export interface InvoiceView {
  id: string;
  number: string | null;
  amount_paid: number;
  amount_due: number;
  currency: string;
  /** The badge the app shows. */
  status: InvoiceBadge;
  /** Stripe's own status. */
  stripe_status: string;
  /** Unix seconds, as Stripe gives it. */
  created: number;
  pdf_url: string | null;
  hosted_invoice_url: string | null;
  description: string | null;
  /** What it paid for, for a client to say in its own language; null when only Stripe's text is known. */
  purpose: InvoicePurpose | null;
}

/**
 * Badge from Stripe's status and due date: an open invoice whose due date has passed, or whose
 * automatic payment already failed, is past due; void shows as canceled.
 */
export function invoiceBadge(
  row: Pick<InvoiceRow, 'stripe_status' | 'due_date' | 'attempt_count' | 'billing_reason'>,
  now: Date,
): InvoiceBadge {
  switch (row.stripe_status) {
    case 'paid':
      return 'paid';
    case 'draft':
      return 'draft';
    case 'void':
    case 'refunded':
      return 'canceled';
    case 'uncollectible':
      return 'uncollectible';
    case 'open': {
      // A first payment that did not go through is not a debt: nothing was ever given on credit.
      if (row.billing_reason === 'subscription_create') return 'open';
      const overdue = row.due_date !== null && Number(row.due_date) * 1000 < now.getTime();
      return overdue || row.attempt_count > 0 ? 'past_due' : 'open';
    }
    default:
      return 'open';
  }
}

export function invoiceView(row: InvoiceViewRow, now: Date): InvoiceView {
  return {
    id: row.stripe_invoice_id,
    number: row.number,
    amount_paid: row.amount_paid,
    amount_due: row.amount_due,
    currency: row.currency,
    status: invoiceBadge(row, now),
    stripe_status: row.stripe_status,
    created: Number(row.stripe_created),
    pdf_url: row.invoice_pdf,
    hosted_invoice_url: row.hosted_invoice_url,
    description: row.description,
    purpose: null,
  };
}

export const MAX_INVOICE_PAGE = 100;

/** The user's invoices from the local mirror, newest first; `startingAfter` is the last id of the previous page. */
export async function listInvoices(
  deps: Pick<BillingDeps, 'db' | 'clock'> & Partial<Pick<BillingDeps, 'plans'>>,
  user: Pick<User, 'id'>,
  page: { limit?: number | undefined; startingAfter?: string | undefined } = {},
): Promise<InvoiceView[]> {
  const limit = Math.min(Math.max(page.limit ?? 20, 1), MAX_INVOICE_PAGE);
  let after: { created: number; id: string } | undefined;
  if (page.startingAfter?.startsWith('stxn_')) {
    after = await findStarPaymentCursor(deps.db, user.id, page.startingAfter);
    if (!after) throw new BillingError('NOT_FOUND', 'Unknown invoice cursor');
  } else if (page.startingAfter) {
    const cursor = await findInvoice(deps.db, page.startingAfter);
    // Someone else's invoice id is as unknown as a made-up one.
    if (!cursor || cursor.user_id !== user.id) throw new BillingError('NOT_FOUND', 'Unknown invoice cursor');
    after = { created: Number(cursor.stripe_created), id: cursor.stripe_invoice_id };
  }
  const rows = await listInvoicePage(deps.db, user.id, limit, after);
  const now = deps.clock.now();
  const plans = deps.plans?.cached();
  return rows.map((r) => {
    const view = invoiceView(r, now);
    if (r.stars_plan_id) {
      // A Stars payment says what it paid for in words: "Premium · 30 days in Telegram Stars".
      const name = plans?.find((p) => p.plan_id === r.stars_plan_id)?.name ?? r.stars_plan_id;
      return {
        ...view,
        description: `${name} · ${r.stars_recurring ? 'renewal' : '30 days'} in Telegram Stars`,
        purpose: { kind: r.stars_recurring ? 'stars_renewal' : 'stars', plan_name: name, interval: 'month' },
      };
    }
    const plan = r.price_id ? plans?.find((p) => p.price_id === r.price_id) : undefined;
    const kind = KINDS[r.billing_reason ?? ''];
    return plan
      ? {
          ...view,
          description: describeInvoice(plan, r.billing_reason) ?? view.description,
          purpose: kind ? { kind, plan_name: plan.name, interval: plan.interval } : null,
        }
      : view;
  });
}

const KINDS: Record<string, InvoicePurpose['kind']> = {
  subscription_create: 'create',
  subscription_cycle: 'cycle',
  subscription_update: 'update',
};

/**
 * What a card invoice was for, in words, from its plan and why Stripe made it: "Premium · monthly",
 * "Premium · monthly renewal", "Change to VIP (prorated)". Undefined for other reasons (Stripe's text stays).
 */
export function describeInvoice(plan: Pick<Plan, 'name' | 'interval'>, reason: string | null): string | undefined {
  const period = plan.interval === 'year' ? 'yearly' : plan.interval === 'month' ? 'monthly' : `every ${plan.interval}`;
  if (reason === 'subscription_create') return `${plan.name} · ${period}`;
  if (reason === 'subscription_cycle') return `${plan.name} · ${period} renewal`;
  if (reason === 'subscription_update') return `Change to ${plan.name} (prorated)`;
  return undefined;
}
