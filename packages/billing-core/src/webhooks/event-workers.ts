import { queueOf } from './event-queue.ts';
import { drainGraphileQueue, startGraphileWorker } from './graphile-runner.ts';
import {
  drainTableQueue,
  type EventWorkerDeps,
  type LongRunningWorkerOptions,
  type StripeEventWorker,
  type StripeEventWorkerOptions,
  startTableWorker,
} from './stripe-event-worker.ts';

/**
 * A long-running Stripe event worker on the deps' queue: graphile-worker on PostgreSQL, the table
 * queue on the embedded PGlite. Any number of these, in any number of processes, share one queue.
 */
export function startStripeEventWorker(deps: EventWorkerDeps, options: LongRunningWorkerOptions = {}): StripeEventWorker {
  const queue = queueOf(deps);
  return queue.kind === 'graphile-worker' ? startGraphileWorker(deps, queue, options) : startTableWorker(deps, options);
}

/** Runs every due customer job until none is left (tests, the CLI). Returns how many runs it made. */
export function runStripeEventJobs(deps: EventWorkerDeps, options: StripeEventWorkerOptions = {}): Promise<number> {
  const queue = queueOf(deps);
  return queue.kind === 'graphile-worker' ? drainGraphileQueue(deps, queue, options) : drainTableQueue(deps, options);
}
