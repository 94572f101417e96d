import { type Insertable, type Selectable, sql } from 'kysely';
import type { Executor } from './executor.ts';
import type { Database } from './schema.ts';

/** What writing a mirror row did. `stale`: a newer read was already stored, so nothing was written. */
export type ApplyOutcome = 'inserted' | 'updated' | 'unchanged' | 'stale';

/** The tables that mirror a Stripe object, each keyed by the object's id. */
const MIRRORS = { invoices: 'stripe_invoice_id', subscriptions: 'stripe_subscription_id' } as const;
type Mirror = keyof typeof MIRRORS;

const same = (a: unknown, b: unknown) =>
  a instanceof Date || b instanceof Date
    ? String(a && new Date(a as Date).getTime()) === String(b && new Date(b as Date).getTime())
    : a === b;

/**
 * Writes the state of a Stripe object as read. A state read earlier than the stored one is never
 * applied (`state_read_at`, checked again in the statement itself), so a slow, older read cannot
 * overwrite a newer one. `compared` are the columns whose change makes it `updated` rather than
 * `unchanged`.
 */
export async function upsertMirrorRow<T extends Mirror>(
  db: Executor,
  table: T,
  row: Insertable<Database[T]>,
  previous: Selectable<Database[T]> | undefined,
  compared: ReadonlyArray<keyof Insertable<Database[T]> & keyof Selectable<Database[T]>>,
): Promise<ApplyOutcome> {
  const key = MIRRORS[table];
  const readAt = Number((row as { state_read_at: unknown }).state_read_at);
  if (previous && Number((previous as { state_read_at: unknown }).state_read_at) > readAt) return 'stale';
  const changed = !previous || compared.some((k) => !same(previous[k], row[k]));
  const { [key]: _id, ...update } = row as Record<string, unknown>;
  // Kysely cannot type a row of a table chosen at run time: the casts stop at this one statement.
  await db
    .insertInto(table)
    .values(row as never)
    .onConflict((oc) =>
      oc
        .column(key as never)
        .doUpdateSet({ ...update, updated_at: sql`now()` } as never)
        .where(sql.ref(`${table}.state_read_at`), '<=', readAt),
    )
    .execute();
  if (!previous) return 'inserted';
  return changed ? 'updated' : 'unchanged';
}
