import type Stripe from 'stripe';
import type { BillingDeps } from '../deps.ts';
import { stripeCall } from '../stripe/stripe-errors.ts';
import { findUserById } from '../users/user.repository.ts';
import { findUserIdByCustomer, insertCustomerMapping } from './customer.repository.ts';

const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Our user ids are UUIDs; anything else in a `metadata.user_id` is not ours. */
export const isUserId = (value: unknown): value is string => typeof value === 'string' && USER_ID.test(value);

/**
 * Our user for a Stripe customer: the stored mapping, else the `metadata.user_id` we put on every
 * customer, read from Stripe itself (never from an event's payload), and only when that user exists
 * and has no other customer. Never by email. The Stripe read happens outside any transaction; the
 * mapping is then written alone (unique on both sides, so two workers agree).
 */
export async function resolveCustomerOwner(
  deps: Pick<BillingDeps, 'db' | 'stripe'>,
  customerId: string,
  customer?: Stripe.Customer | Stripe.DeletedCustomer,
): Promise<string | undefined> {
  const mapped = await findUserIdByCustomer(deps.db, customerId);
  if (mapped) return mapped;
  const read = customer ?? (await stripeCall(() => deps.stripe.customers.retrieve(customerId)));
  if ('deleted' in read && read.deleted) return undefined;
  const candidate = (read as Stripe.Customer).metadata?.user_id;
  if (!isUserId(candidate) || !(await findUserById(deps.db, candidate))) return undefined;
  if (await insertCustomerMapping(deps.db, candidate, customerId)) return candidate;
  // Someone else mapped it first: believe the table.
  const again = await findUserIdByCustomer(deps.db, customerId);
  return again === candidate ? candidate : undefined;
}
