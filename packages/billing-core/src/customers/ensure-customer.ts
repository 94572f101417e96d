import type { BillingDeps } from '../deps.ts';
import { BillingError } from '../errors.ts';
import { stripeCall } from '../stripe/stripe-errors.ts';
import { lockUser, type User } from '../users/user.repository.ts';
import { findCustomerIdByUser, insertCustomerMapping } from './customer.repository.ts';

/**
 * The user's one Stripe customer, created on first need. One customer per user, ever, even under
 * concurrent calls: the user row is locked while we look and create, the mapping is unique, and the
 * create call carries a deterministic idempotency key, so a retry after a lost answer gets the same
 * customer back. Customers are linked by `metadata.user_id`, never by email.
 */
export async function ensureCustomer(deps: Pick<BillingDeps, 'db' | 'stripe'>, user: User): Promise<string> {
  const existing = await findCustomerIdByUser(deps.db, user.id);
  if (existing) return existing;
  return deps.db.transaction().execute(async (trx) => {
    if (!(await lockUser(trx, user.id))) throw new BillingError('USER_NOT_FOUND', 'User not found');
    const again = await findCustomerIdByUser(trx, user.id);
    if (again) return again;
    const customer = await stripeCall(() =>
      deps.stripe.customers.create(
        {
          metadata: { user_id: user.id, ...(user.telegramId !== null ? { telegram_id: String(user.telegramId) } : {}) },
          ...(user.name ? { name: user.name } : {}),
          ...(user.email ? { email: user.email } : {}),
        },
        { idempotencyKey: `customer-create:${user.id}` },
      ),
    );
    await insertCustomerMapping(trx, user.id, customer.id);
    return customer.id;
  });
}
