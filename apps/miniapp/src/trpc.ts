// The billing data the app caches, by key: every read goes through the typed tRPC client
// (@miniapp-billing/client), batched by its link, and is cached by TanStack Query under these keys.
export const billingKeys = {
  all: ['billing'] as const,
  subscription: ['billing', 'subscription'] as const,
  plans: ['billing', 'plans'] as const,
  invoices: ['billing', 'invoices'] as const,
  pendingCheckout: ['billing', 'checkout', 'pending'] as const,
};
