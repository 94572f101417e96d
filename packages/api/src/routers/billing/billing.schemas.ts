import { z } from 'zod';

// Shared response shapes of the billing procedures; imports only zod so clients can use them.

export const ZPlan = z.object({
  plan_id: z.string(),
  name: z.string(),
  amount: z.number().int().describe('Minor units (cents) per interval'),
  currency: z.string(),
  interval: z.string(),
  price_usd_monthly: z.number().int().describe('Whole dollars per month, for display'),
  features: z.array(z.string()),
  stars_price: z.number().int().nullable().describe('Telegram Stars per 30 days, when the plan is sold in Stars'),
  trial_days: z.number().int().nullable().describe('Days of free trial a first subscription starts with'),
  highlighted: z.boolean().describe('The plan the catalog recommends'),
});

export const ZSubscription = z.object({
  tier: z.string().describe('Plan id, or "free"'),
  status: z.enum(['active', 'trialing', 'past_due', 'incomplete', 'unpaid', 'canceled', 'paused', 'inactive']),
  plan_name: z.string(),
  current_period_start: z.string().nullable().describe('ISO 8601'),
  current_period_end: z.string().nullable().describe('ISO 8601'),
  cancel_at_period_end: z.boolean(),
  cancel_at: z.string().nullable(),
  price_usd_monthly: z.number().int(),
  amount: z.number().int(),
  currency: z.string().nullable(),
  interval: z.string().nullable(),
  has_access: z.boolean().describe('Whether paid features are on now (access policy)'),
  access_until: z.string().nullable(),
  subscription_id: z.string().nullable(),
  rail: z.enum(['stripe', 'telegram_stars']).nullable().describe('How it is paid: Stripe (card) or Telegram Stars; null on free'),
  payment_url: z.string().nullable().describe("Past due or unpaid: Stripe's hosted page where the open invoice can be paid now"),
});

export const ZInvoice = z.object({
  id: z.string(),
  number: z.string().nullable(),
  amount_paid: z.number().int(),
  amount_due: z.number().int(),
  currency: z.string(),
  status: z.enum(['paid', 'open', 'past_due', 'draft', 'canceled', 'uncollectible']).describe('The badge to show'),
  stripe_status: z.string(),
  created: z.number().int().describe('Unix seconds'),
  pdf_url: z.string().nullable(),
  hosted_invoice_url: z.string().nullable(),
  description: z.string().nullable(),
  purpose: z
    .object({
      kind: z.enum(['create', 'cycle', 'update', 'stars', 'stars_renewal']),
      plan_name: z.string(),
      interval: z.string(),
    })
    .nullable()
    .describe('What it paid for, to say in any language: first payment, renewal, plan change (prorated), or Telegram Stars'),
});

const ZUrl = z.string().min(1).max(2048);

export const ZPlanId = z.string().min(1).max(64);
export const ZSessionId = z.string().regex(/^cs_[A-Za-z0-9_]{1,250}$/, 'must be a Checkout Session id (cs_…)');

export const ZCheckoutInput = z.strictObject({
  plan_id: ZPlanId,
  success_url: ZUrl.optional(),
  cancel_url: ZUrl.optional(),
  user_email: z.email().max(254).optional().describe('Kept on the Stripe customer for receipts when we have no email for the person'),
  user_name: z.string().trim().min(1).max(128).optional().describe('The name on the Stripe customer'),
  promotion_code: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/, 'letters, digits and dashes')
    .optional()
    .describe('Checked with Stripe first (422 PROMOTION_CODE_INVALID when it is not valid), then applied to the first invoice'),
});
export const ZCheckoutOutput = z.object({ session_id: z.string(), url: z.string() });

export const ZSessionInput = z.strictObject({ session_id: ZSessionId });
export const ZConfirmOutput = z.object({
  message: z.string(),
  checkout_status: z.enum(['complete', 'open', 'expired', 'canceled']),
  subscription: ZSubscription,
  receipt: z
    .object({
      amount_paid: z.number().int(),
      currency: z.string(),
      invoice_number: z.string().nullable(),
      card_brand: z.string().nullable(),
      card_last4: z.string().nullable(),
      receipt_url: z.string().nullable(),
      hosted_invoice_url: z.string().nullable(),
    })
    .nullable()
    .describe("The first payment, when the checkout is complete: amount, card and Stripe's receipt page"),
});
export const ZPendingCheckout = z
  .object({
    session_id: z.string(),
    plan_id: z.string(),
    url: z.string().describe("Stripe's page to finish paying on"),
    expires_at: z.string().describe('ISO 8601: when Stripe expires the session'),
  })
  .nullable();
export const ZCancelOutput = z.object({
  message: z.string(),
  checkout_status: z.enum(['canceled', 'complete']).describe('complete: it was paid before it could be canceled'),
});

export const ZPortalInput = z.strictObject({ return_url: ZUrl.optional() }).optional();
export const ZPortalOutput = z.object({ url: z.string() });

export const ZInvoicesInput = z
  .strictObject({
    limit: z.coerce.number().int().min(1).max(100).optional(),
    starting_after: z
      .string()
      .regex(/^(in|stxn)_[A-Za-z0-9_-]{1,250}$/, 'must be an invoice or Stars payment id (in_…, stxn_…)')
      .optional(),
  })
  .optional();

export const ZProrationDate = z.coerce
  .number()
  .int()
  .min(1_000_000_000)
  .max(99_999_999_999)
  .describe('Unix seconds: the proration_date of a preview, to be charged exactly what it showed');
export const ZChangePlanInput = z.strictObject({ plan_id: ZPlanId, proration_date: ZProrationDate.optional() });
export const ZPreviewInput = z.strictObject({ plan_id: ZPlanId });
export const ZPlanChangePreview = z.object({
  plan_id: z.string(),
  direction: z.enum(['upgrade', 'downgrade']),
  currency: z.string(),
  amount_due_now: z.number().int().describe('Minor units charged at once when the change is confirmed'),
  credit: z.number().int().describe('Unused time beyond what is due now, kept as credit for the next invoices'),
  next_amount: z.number().int().describe('The renewal at the new price (after discounts), before credit'),
  next_amount_due: z.number().int().describe('What the first renewal after the change charges, credit applied'),
  next_date: z.string().nullable().describe('ISO 8601: when that renewal is'),
  proration_date: z.number().int().describe('Send it with the change to be charged exactly amount_due_now'),
});
export const ZEmpty = z.strictObject({}).optional();

export const ZStarsInvoiceInput = z.strictObject({ plan_id: ZPlanId });
export const ZStarsInvoiceOutput = z.object({
  invoice_link: z.string().describe('Open it with Telegram.WebApp.openInvoice'),
  slug: z.string(),
});

export const ZEntitlements = z.object({
  user_id: z.string(),
  plan_id: z.string().describe('The plan whose entitlements apply now (free when no subscription gives access)'),
  has_access: z.boolean(),
  status: z.string(),
  rail: z.enum(['stripe', 'telegram_stars']).nullable(),
  access_until: z.string().nullable(),
  flags: z
    .array(z.enum(['dispute_open', 'dispute_lost']))
    .describe('dispute_open: a bank is deciding on a payment (access kept); dispute_lost: access ended'),
  features: z.record(z.string(), z.boolean()),
  limits: z.record(z.string(), z.number().int().nullable()).describe('null: no limit'),
});
