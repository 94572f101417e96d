/**
 * The `stripe` SDK resource files whose operations the emulator claims. `scripts/sdk-params.ts` reads
 * their parameter types into `spec/params.json`; a route outside these is answered 404.
 */
export const RESOURCE_FILES = [
  'BillingPortal/Sessions',
  'Charges',
  'Checkout/Sessions',
  'Coupons',
  'Customers',
  'Disputes',
  'Events',
  'InvoicePayments',
  'Invoices',
  'PaymentIntents',
  'Prices',
  'Products',
  'PromotionCodes',
  'Refunds',
  'SubscriptionItems',
  'Subscriptions',
  'WebhookEndpoints',
] as const;
