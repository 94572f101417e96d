import type Stripe from 'stripe';
import type { BillingDeps } from '../deps.ts';
import { idOf } from '../stripe/ids.ts';
import { stripeCall } from '../stripe/stripe-errors.ts';
import { syncCustomer } from '../sync/sync.ts';

export interface ReconcileReport {
  customers: number;
  unmatchedCustomers: number;
  subscriptions: { inserted: number; updated: number; unchanged: number };
  invoices: { inserted: number; updated: number; unchanged: number };
  duplicatesCanceled: number;
  /** Rows the mirror had wrong or missing: inserted + updated. */
  drift: number;
}

/**
 * Pages through every subscription in Stripe, re-syncs each customer it finds (subscriptions and
 * invoices) and reports what it had to repair. Rate-limited: at most `requestsPerSecond` page reads.
 */
export async function reconcile(deps: BillingDeps, options: { requestsPerSecond?: number } = {}): Promise<ReconcileReport> {
  const delay = 1000 / (options.requestsPerSecond ?? 20);
  const report: ReconcileReport = {
    customers: 0,
    unmatchedCustomers: 0,
    subscriptions: { inserted: 0, updated: 0, unchanged: 0 },
    invoices: { inserted: 0, updated: 0, unchanged: 0 },
    duplicatesCanceled: 0,
    drift: 0,
  };
  const customers = new Set<string>();
  let startingAfter: string | undefined;
  for (;;) {
    const page: Stripe.ApiList<Stripe.Subscription> = await stripeCall(() =>
      deps.stripe.subscriptions.list({ status: 'all', limit: 100, ...(startingAfter ? { starting_after: startingAfter } : {}) }),
    );
    for (const sub of page.data) {
      const customer = idOf(sub.customer);
      if (customer) customers.add(customer);
    }
    if (!page.has_more || page.data.length === 0) break;
    startingAfter = page.data.at(-1)?.id;
    await new Promise((r) => setTimeout(r, delay));
  }
  for (const customerId of customers) {
    const result = await syncCustomer(deps, customerId, { pageDelayMs: delay });
    report.customers += 1;
    if (!result.userId) {
      report.unmatchedCustomers += 1;
      continue;
    }
    for (const k of ['inserted', 'updated', 'unchanged'] as const) {
      report.subscriptions[k] += result.subscriptions[k];
      report.invoices[k] += result.invoices[k];
    }
    report.duplicatesCanceled += result.duplicatesCanceled;
    await new Promise((r) => setTimeout(r, delay));
  }
  report.drift = report.subscriptions.inserted + report.subscriptions.updated + report.invoices.inserted + report.invoices.updated;
  return report;
}
