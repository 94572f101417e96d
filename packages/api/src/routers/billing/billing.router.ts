import {
  cancelAtPeriodEnd,
  cancelCheckout,
  changePlan,
  confirmCheckout,
  createCheckout,
  createPortal,
  createStarsInvoice,
  entitlementsOf,
  getSubscription,
  listInvoices,
  pendingCheckout,
  previewPlanChange,
  resume,
  returnFromPortal,
  starsPrice,
} from '@miniapp-billing/billing-core';
import { z } from 'zod';
import { billingActionProcedure, protectedProcedure, publicProcedure, router } from '../../trpc.ts';
import {
  ZCancelOutput,
  ZChangePlanInput,
  ZCheckoutInput,
  ZCheckoutOutput,
  ZConfirmOutput,
  ZEmpty,
  ZEntitlements,
  ZInvoice,
  ZInvoicesInput,
  ZPendingCheckout,
  ZPlan,
  ZPlanChangePreview,
  ZPortalInput,
  ZPortalOutput,
  ZPreviewInput,
  ZSessionInput,
  ZStarsInvoiceInput,
  ZStarsInvoiceOutput,
  ZSubscription,
} from './billing.schemas.ts';

const tags = ['billing'];

// Thin procedures: take input, call one billing-core operation, return the response schema.
export const billingRouter = router({
  plans: router({
    list: publicProcedure
      .meta({ openapi: { method: 'GET', path: '/billing/plans', tags, summary: 'The plans on sale', protect: false } })
      .output(z.array(ZPlan))
      .query(async ({ ctx }) => {
        return (await ctx.deps.billing.plans.list()).map(({ price_id: _p, ...plan }) => ({
          ...plan,
          stars_price: starsPrice(ctx.deps.billing, plan.plan_id) ?? null,
        }));
      }),
  }),
  subscription: router({
    get: protectedProcedure
      .meta({ openapi: { method: 'GET', path: '/billing/subscription', tags, summary: 'The current plan (free when none)' } })
      .output(ZSubscription)
      .query(({ ctx }) => getSubscription(ctx.deps.billing, ctx.user)),
    preview: billingActionProcedure
      .meta({
        openapi: {
          method: 'GET',
          path: '/billing/subscription/preview',
          tags,
          summary: "What moving to another plan costs, from Stripe's invoice preview (changes nothing)",
        },
      })
      .input(ZPreviewInput)
      .output(ZPlanChangePreview)
      .query(({ ctx, input }) => previewPlanChange(ctx.deps.billing, { user: ctx.user, planId: input.plan_id })),
    change: billingActionProcedure
      .meta({
        openapi: {
          method: 'POST',
          path: '/billing/subscription/change',
          tags,
          summary: 'Move the live subscription to another plan (prorated)',
        },
      })
      .input(ZChangePlanInput)
      .output(ZSubscription)
      .mutation(({ ctx, input }) =>
        changePlan(ctx.deps.billing, { user: ctx.user, planId: input.plan_id, prorationDate: input.proration_date }),
      ),
    cancel: billingActionProcedure
      .meta({ openapi: { method: 'POST', path: '/billing/subscription/cancel', tags, summary: 'Cancel at the end of the current period' } })
      .input(ZEmpty)
      .output(ZSubscription)
      .mutation(({ ctx }) => cancelAtPeriodEnd(ctx.deps.billing, { user: ctx.user })),
    resume: billingActionProcedure
      .meta({ openapi: { method: 'POST', path: '/billing/subscription/resume', tags, summary: 'Undo a pending cancellation' } })
      .input(ZEmpty)
      .output(ZSubscription)
      .mutation(({ ctx }) => resume(ctx.deps.billing, { user: ctx.user })),
  }),
  checkout: router({
    create: billingActionProcedure
      .meta({
        openapi: {
          method: 'POST',
          path: '/billing/checkout',
          tags,
          summary: 'Start Stripe Checkout for a plan',
          description: 'Send an `Idempotency-Key` header to get the same session back for the same request within 24 h.',
          requestHeaders: z.object({ 'idempotency-key': z.string().max(255).optional() }),
          successDescription: 'Created',
        },
        status: 201,
      })
      .input(ZCheckoutInput)
      .output(ZCheckoutOutput)
      .mutation(async ({ ctx, input }) => {
        const result = await createCheckout(ctx.deps.billing, {
          user: ctx.user,
          planId: input.plan_id,
          successUrl: input.success_url,
          cancelUrl: input.cancel_url,
          email: input.user_email,
          name: input.user_name,
          promotionCode: input.promotion_code,
          idempotencyKey: ctx.idempotencyKey,
        });
        if (!result.replayed) ctx.deps.metrics.checkoutStart.inc({ plan: input.plan_id });
        return { session_id: result.session_id, url: result.url };
      }),
    pending: protectedProcedure
      .meta({
        openapi: {
          method: 'GET',
          path: '/billing/checkout/pending',
          tags,
          summary: 'The Checkout the caller started and has not finished (null when none): resume it at its url, or cancel it',
        },
      })
      .output(ZPendingCheckout)
      .query(({ ctx }) => pendingCheckout(ctx.deps.billing, ctx.user)),
    confirm: protectedProcedure
      .meta({
        openapi: {
          method: 'POST',
          path: '/billing/checkout/success',
          tags,
          summary: 'The return from Checkout: syncs from Stripe at once',
        },
      })
      .input(ZSessionInput)
      .output(ZConfirmOutput)
      .mutation(({ ctx, input }) => confirmCheckout(ctx.deps.billing, { user: ctx.user, sessionId: input.session_id })),
    cancel: protectedProcedure
      .meta({ openapi: { method: 'POST', path: '/billing/checkout/cancel', tags, summary: 'The person left Checkout without paying' } })
      .input(ZSessionInput)
      .output(ZCancelOutput)
      .mutation(({ ctx, input }) => cancelCheckout(ctx.deps.billing, { user: ctx.user, sessionId: input.session_id })),
  }),
  portal: router({
    create: billingActionProcedure
      .meta({
        openapi: {
          method: 'POST',
          path: '/billing/portal',
          tags,
          summary: 'Open the Stripe Customer Portal',
          successDescription: 'Created',
        },
        status: 201,
      })
      .input(ZPortalInput)
      .output(ZPortalOutput)
      .mutation(async ({ ctx, input }) => {
        const result = await createPortal(ctx.deps.billing, { user: ctx.user, returnUrl: input?.return_url });
        ctx.deps.metrics.portalOpen.inc();
        return result;
      }),
    return: billingActionProcedure
      .meta({
        openapi: {
          method: 'POST',
          path: '/billing/portal/return',
          tags,
          summary: 'The return from the Customer Portal: syncs from Stripe at once',
          description: 'Re-reads the customer from Stripe so that what was done in the portal shows now, not when the webhooks arrive.',
        },
      })
      .input(ZEmpty)
      .output(ZSubscription)
      .mutation(({ ctx }) => returnFromPortal(ctx.deps.billing, { user: ctx.user })),
  }),
  entitlements: router({
    get: protectedProcedure
      .meta({
        openapi: {
          method: 'GET',
          path: '/billing/entitlements',
          tags,
          summary: 'What the caller may do now: the features and limits of the plan that gives access (free otherwise)',
        },
      })
      .output(ZEntitlements)
      .query(({ ctx }) => entitlementsOf(ctx.deps.billing, ctx.user)),
  }),
  stars: router({
    invoice: billingActionProcedure
      .meta({
        openapi: {
          method: 'POST',
          path: '/billing/stars/invoice',
          tags,
          summary: 'A Telegram Stars invoice link for a plan (30-day renewals), to open with WebApp.openInvoice',
          successDescription: 'Created',
        },
        status: 201,
      })
      .input(ZStarsInvoiceInput)
      .output(ZStarsInvoiceOutput)
      .mutation(async ({ ctx, input }) => {
        const plan = (await ctx.deps.billing.plans.list()).find((p) => p.plan_id === input.plan_id);
        const result = await createStarsInvoice(ctx.deps.billing, {
          user: ctx.user,
          planId: input.plan_id,
          planName: plan?.name ?? input.plan_id,
        });
        ctx.deps.metrics.starsInvoice.inc({ plan: input.plan_id });
        return result;
      }),
  }),
  invoices: router({
    list: protectedProcedure
      .meta({ openapi: { method: 'GET', path: '/billing/invoices', tags, summary: 'Invoice history, newest first' } })
      .input(ZInvoicesInput)
      .output(z.array(ZInvoice))
      .query(({ ctx, input }) => listInvoices(ctx.deps.billing, ctx.user, { limit: input?.limit, startingAfter: input?.starting_after })),
  }),
});
