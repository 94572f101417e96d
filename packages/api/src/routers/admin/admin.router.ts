import { BillingError, billingState, findUserForOperator, refundLastPayment } from '@miniapp-billing/billing-core';
import { z } from 'zod';
import { router, serviceProcedure } from '../../trpc.ts';
import { ZEntitlements, ZInvoice, ZSubscription } from '../billing/billing.schemas.ts';

const tags = ['admin'];

/** Who an operator means: our id, a Telegram id, an email, or a Stripe customer id (`cus_…`). */
const ZUserQuery = z.string().trim().min(1).max(254);

const nullableString = z.string().nullable();

export const ZBillingState = z.object({
  user: z.object({
    id: z.string(),
    name: z.string(),
    email: nullableString,
    telegram_id: z.number().int().nullable(),
    platform_subject: nullableString,
    created_at: z.string(),
    bot_blocked: z.boolean(),
  }),
  stripe_customer_id: nullableString,
  now: z.object({ subscription: ZSubscription, entitlements: ZEntitlements }),
  mirror: z.object({
    subscriptions: z.array(
      z.object({
        id: z.string(),
        plan_id: nullableString,
        status: z.string(),
        cancel_at_period_end: z.boolean(),
        current_period_end: nullableString,
        updated_at: z.string(),
      }),
    ),
    star_subscriptions: z.array(
      z.object({
        payload: z.string(),
        plan_id: z.string(),
        amount: z.number().int(),
        expires_at: z.string(),
        canceled: z.boolean(),
        refunded: z.boolean(),
      }),
    ),
    invoices: z.array(ZInvoice),
    payments: z.array(
      z.object({
        charge_id: z.string(),
        amount: z.number().int(),
        amount_refunded: z.number().int(),
        currency: z.string(),
        refunded: z.boolean(),
        dispute_status: nullableString,
        access_ended: nullableString.describe('Why the policy ended access (refunded, dispute_lost), or null'),
      }),
    ),
  }),
  stripe: z
    .object({
      error: nullableString,
      customer_deleted: z.boolean(),
      subscriptions: z.array(z.object({ id: z.string(), status: z.string(), price_id: nullableString, cancel_at_period_end: z.boolean() })),
    })
    .nullable()
    .describe("Stripe's side, read now (null without a customer)"),
  differences: z.array(z.string()).describe('Where the mirror and Stripe disagree, in words'),
  events: z.array(
    z.object({
      id: z.string(),
      type: z.string(),
      status: z.string(),
      attempts: z.number().int(),
      last_error: nullableString,
      received_at: z.string(),
      processed_at: nullableString,
    }),
  ),
  notices: z.array(
    z.object({
      kind: z.string(),
      status: z.string(),
      attempts: z.number().int(),
      created_at: z.string(),
      sent_at: nullableString,
      last_error: nullableString,
    }),
  ),
});

const ZRefundInput = z.strictObject({
  id: ZUserQuery,
  amount: z.number().int().min(1).max(100_000_000).optional().describe('Minor units; the whole payment when left out'),
  cancel: z.boolean().optional().describe('End access at once after a partial refund too (a full refund ends it by the policy)'),
});

const ZRefund = z.object({
  rail: z.enum(['stripe', 'telegram_stars']),
  payment_id: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  access_ended: z.boolean(),
  subscription: ZSubscription,
});

async function userFor(db: Parameters<typeof findUserForOperator>[0], query: string) {
  const user = await findUserForOperator(db, query);
  if (!user) throw new BillingError('NOT_FOUND', 'No such user');
  return user;
}

// Operators and admin services: a service token with the admin scope (a read token gets 403).
export const adminRouter = router({
  users: router({
    get: serviceProcedure('admin')
      .meta({
        openapi: {
          method: 'GET',
          path: '/admin/users/{id}',
          tags,
          summary: "A person's whole billing state: the mirror and Stripe side by side, events, payments back, notices",
          description: '`id` is our user id, a Telegram id, an email, or a Stripe customer id (cus_…).',
        },
      })
      .input(z.strictObject({ id: ZUserQuery }))
      .output(ZBillingState)
      .query(async ({ ctx, input }) => billingState(ctx.deps.billing, await userFor(ctx.deps.billing.db, input.id))),
    refund: serviceProcedure('admin')
      .meta({
        openapi: {
          method: 'POST',
          path: '/admin/users/{id}/refunds',
          tags,
          summary: "Refund the person's last payment (card or Stars); a full refund ends access by the money-back policy",
          successDescription: 'Created',
        },
        status: 201,
      })
      .input(ZRefundInput)
      .output(ZRefund)
      .mutation(async ({ ctx, input }) =>
        refundLastPayment(ctx.deps.billing, await userFor(ctx.deps.billing.db, input.id), {
          amount: input.amount,
          cancel: input.cancel,
          requestedBy: ctx.service,
        }),
      ),
  }),
});
