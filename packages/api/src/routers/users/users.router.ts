import { BillingError, entitlementsOf, findUserById, isUserId } from '@miniapp-billing/billing-core';
import { z } from 'zod';
import { router, serviceProcedure } from '../../trpc.ts';
import { ZEntitlements } from '../billing/billing.schemas.ts';

const tags = ['services'];

// What other services of the platform ask about a person: read with a service token.
export const usersRouter = router({
  entitlements: serviceProcedure('read')
    .meta({
      openapi: {
        method: 'GET',
        path: '/users/{user_id}/entitlements',
        tags,
        summary: "A person's features and limits now, for another service (service token with the read scope)",
      },
    })
    .input(z.strictObject({ user_id: z.uuid() }))
    .output(ZEntitlements)
    .query(async ({ ctx, input }) => {
      const user = isUserId(input.user_id) ? await findUserById(ctx.deps.billing.db, input.user_id) : undefined;
      if (!user) throw new BillingError('NOT_FOUND', 'No such user');
      return entitlementsOf(ctx.deps.billing, user);
    }),
});
