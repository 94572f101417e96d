import { findCustomerIdByUser } from '../customers/customer.repository.ts';
import type { BillingDeps } from '../deps.ts';
import { getSubscription, type SubscriptionView } from '../subscriptions/get-subscription.ts';
import { syncCustomer } from '../sync/sync.ts';
import type { User } from '../users/user.repository.ts';

/**
 * The return from the Customer Portal. Like the return from Checkout, it does not wait for the
 * webhooks: it re-reads the person's customer from Stripe now (subscriptions and invoices, no
 * transaction open while it does) and stores what it finds, so a cancellation or a plan change
 * made in the portal shows on the first screen after it. A person with no customer is answered
 * from the database alone.
 */
export async function returnFromPortal(deps: BillingDeps, input: { user: User }): Promise<SubscriptionView> {
  const customerId = await findCustomerIdByUser(deps.db, input.user.id);
  if (customerId) await syncCustomer(deps, customerId);
  return getSubscription(deps, input.user);
}
