/**
 * The one home of what a subscription status means to us. Stripe's statuses, and the sets each rule
 * reads: every other file imports these instead of listing statuses again.
 */

/** Statuses that describe a person's subscription now, most telling first (for picking the current one). */
export const LIVE_STATUSES = ['active', 'trialing', 'past_due', 'unpaid', 'paused', 'incomplete'] as const;

/** A second checkout is refused while one of these exists: the person is (or is about to be) paying already. */
export const BLOCKING_STATUSES = ['active', 'trialing', 'past_due', 'unpaid', 'paused'] as const;

/** Plan change, cancel and resume act on these; two of them at once for one person is a duplicate. */
export const MANAGEABLE_STATUSES = ['active', 'trialing', 'past_due'] as const;

/** Statuses in which the plan is on (access then depends on the period: see accessOf). */
export const ACTIVATED_STATUSES = ['active', 'trialing'] as const;

const has = (set: readonly string[], status: string | null | undefined) => status !== null && status !== undefined && set.includes(status);

export const isBlocking = (status: string | null | undefined) => has(BLOCKING_STATUSES, status);
export const isManageable = (status: string | null | undefined) => has(MANAGEABLE_STATUSES, status);
export const isActivated = (status: string | null | undefined) => has(ACTIVATED_STATUSES, status);
