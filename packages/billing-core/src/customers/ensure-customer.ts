import type { BillingDeps } from '../deps.ts';
import { stripeCall } from '../stripe/stripe-errors.ts';
import type { User } from '../users/user.repository.ts';
import { findCustomerIdByUser, insertCustomerMapping } from './customer.repository.ts';

/**
 * The user's one Stripe customer, created on first need. One customer per user, ever, with no lock
 * held across the network: the create call carries a deterministic idempotency key (every concurrent
 * or retried call gets the same customer back from Stripe), and the mapping is unique on both sides,
 * so whichever write lands first is the one everybody reads back. `replacing` names a customer that
 * Stripe reported deleted: its successor gets a key of its own. Linked by `metadata.user_id`, never
 * by email.
 */
export async function ensureCustomer(
  deps: Pick<BillingDeps, 'db' | 'stripe'>,
  user: User,
  options: { replacing?: string } = {},
): Promise<string> {
  const existing = await findCustomerIdByUser(deps.db, user.id);
  if (existing && existing !== options.replacing) return existing;
  const customer = await stripeCall(() =>
    deps.stripe.customers.create(
      {
        metadata: { user_id: user.id, ...(user.telegramId !== null ? { telegram_id: String(user.telegramId) } : {}) },
        ...(user.name ? { name: user.name } : {}),
        ...(user.email ? { email: user.email } : {}),
      },
      { idempotencyKey: options.replacing ? `customer-create:${user.id}:after:${options.replacing}` : `customer-create:${user.id}` },
    ),
  );
  await insertCustomerMapping(deps.db, user.id, customer.id);
  const mapped = await findCustomerIdByUser(deps.db, user.id);
  return mapped ?? customer.id;
}
