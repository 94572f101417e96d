import { sql } from 'kysely';
import type { Executor } from '../db/executor.ts';
import { type ApplyOutcome, upsertMirrorRow } from '../db/mirror.ts';
import { PREPARED } from '../db/prepared.ts';
import type { InvoiceRow, NewInvoice } from '../db/schema.ts';

export async function findInvoice(db: Executor, id: string): Promise<InvoiceRow | undefined> {
  return db.selectFrom('invoices').selectAll().where('stripe_invoice_id', '=', id).executeTakeFirst();
}

const COMPARED = [
  'stripe_status',
  'amount_due',
  'amount_paid',
  'amount_remaining',
  'attempt_count',
  'number',
  'invoice_pdf',
  'price_id',
] as const;

/** Upserts the mirror row; an older read never overwrites a newer one. */
export function upsertInvoice(db: Executor, row: NewInvoice, previous?: InvoiceRow): Promise<ApplyOutcome> {
  return upsertMirrorRow(db, 'invoices', row, previous, COMPARED);
}

/**
 * One page of a user's invoices, newest first, keyset-paginated on (created, id): the cost of a page
 * does not grow with the length of the history.
 */
/** The columns an invoice is shown from (the history on every page load: nothing more is parsed). */
export const INVOICE_VIEW_COLUMNS = [
  'stripe_invoice_id',
  'number',
  'amount_paid',
  'amount_due',
  'currency',
  'stripe_status',
  'due_date',
  'attempt_count',
  'billing_reason',
  'stripe_created',
  'invoice_pdf',
  'hosted_invoice_url',
  'description',
  'price_id',
] as const;
export type InvoiceViewRow = Pick<InvoiceRow, (typeof INVOICE_VIEW_COLUMNS)[number]> & {
  /** For a Telegram Stars payment: the plan it paid for, and whether it was a renewal (null for Stripe invoices). */
  stars_plan_id?: string | null;
  stars_recurring?: boolean | null;
};

/**
 * One page of a person's payments on both rails, newest first, after a (created, id) cursor: Stripe
 * invoices, and Telegram Stars payments in the same shape (XTR, no PDF, `refunded` when given back).
 * Each side is read through its own index and limited before the two are merged.
 */
export async function listInvoicePage(
  db: Executor,
  userId: string,
  limit: number,
  after?: { created: number; id: string },
): Promise<InvoiceViewRow[]> {
  const invoiceCursor = after
    ? sql`and (stripe_created < ${after.created} or (stripe_created = ${after.created} and stripe_invoice_id < ${after.id}))`
    : sql``;
  const starsCreated = sql`extract(epoch from paid_at)::bigint`;
  const starsCursor = after
    ? sql`and (${starsCreated} < ${after.created} or (${starsCreated} = ${after.created} and telegram_payment_charge_id < ${after.id}))`
    : sql``;
  const { rows } = await sql<InvoiceViewRow>`
    select ${PREPARED} * from (
      (select stripe_invoice_id, number, amount_paid, amount_due, currency, stripe_status, due_date, attempt_count, billing_reason,
              stripe_created, invoice_pdf, hosted_invoice_url, description, price_id, null::text as stars_plan_id, null::boolean as stars_recurring
         from invoices where user_id = ${userId} ${invoiceCursor}
         order by stripe_created desc, stripe_invoice_id desc limit ${limit})
      union all
      (select telegram_payment_charge_id, null, amount, amount, 'XTR',
              case when refunded_at is null then 'paid' else 'refunded' end, null::bigint, 0,
              case when recurring then 'subscription_cycle' else 'subscription_create' end,
              ${starsCreated}, null, null,
              null, null, plan_id, recurring
         from star_payments where user_id = ${userId} ${starsCursor}
         order by paid_at desc, telegram_payment_charge_id desc limit ${limit})
    ) page
    order by stripe_created desc, stripe_invoice_id desc
    limit ${limit}`.execute(db);
  return rows;
}

/** A Stars payment of this person, as a history cursor. */
export async function findStarPaymentCursor(
  db: Executor,
  userId: string,
  chargeId: string,
): Promise<{ created: number; id: string } | undefined> {
  const row = await db
    .selectFrom('star_payments')
    .select(['telegram_payment_charge_id', sql<string>`extract(epoch from paid_at)::bigint`.as('created')])
    .where('telegram_payment_charge_id', '=', chargeId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row ? { created: Number(row.created), id: row.telegram_payment_charge_id } : undefined;
}
