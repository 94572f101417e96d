import { adminRouter } from './routers/admin/admin.router.ts';
import { authRouter } from './routers/auth/auth.router.ts';
import { billingRouter } from './routers/billing/billing.router.ts';
import { usersRouter } from './routers/users/users.router.ts';
import { router } from './trpc.ts';

export const appRouter = router({
  admin: adminRouter,
  auth: authRouter,
  billing: billingRouter,
  users: usersRouter,
});

/** The router's type, for typed clients: import it with `import type` only. */
export type AppRouter = typeof appRouter;
