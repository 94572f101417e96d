/**
 * The one home of id extraction from Stripe objects: an expandable field is either an id or the
 * object itself; both give the id here.
 */
export function idOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string')
    return (value as { id: string }).id;
  return null;
}

const CUSTOMER_ID = /^cus_[A-Za-z0-9_]{1,250}$/;
/** A card payment's id (`ch_…`, or `py_…` for other payment methods). */
export const CHARGE_ID = /^(ch|py)_[A-Za-z0-9_]{1,250}$/;

/** The customer an object belongs to (a customer is its own), or null when it names none we can use. */
export function customerIdOf(object: unknown): string | null {
  if (typeof object !== 'object' || object === null) return null;
  const o = object as { object?: unknown; id?: unknown; customer?: unknown };
  const id = o.object === 'customer' ? idOf(o.id) : idOf(o.customer);
  return id && CUSTOMER_ID.test(id) ? id : null;
}

/** The subscription an invoice belongs to (API versions since 2025 keep it under `parent`). */
export function invoiceSubscriptionId(invoice: unknown): string | null {
  const parent = (invoice as { parent?: { subscription_details?: { subscription?: unknown } | null } | null } | null)?.parent;
  return idOf(parent?.subscription_details?.subscription);
}
