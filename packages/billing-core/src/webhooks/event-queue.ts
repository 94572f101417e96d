import { sql } from 'kysely';

/**
 * Where a customer's runs wait. On PostgreSQL: graphile-worker (its jobs, named queues and job keys,
 * in `schema`). On the embedded PGlite, which graphile-worker cannot drive (it needs a `pg`
 * connection with LISTEN): `stripe_customer_jobs`, a table queue of the same shape (one job per
 * customer, one run at a time per customer, new events fold into the waiting job).
 */
export type EventQueue = { kind: 'table' } | GraphileQueue;

export interface GraphileQueue {
  kind: 'graphile-worker';
  /** graphile-worker's schema. */
  schema: string;
  /** The database its runners connect to (a pool of their own, sized to their concurrency). */
  connectionString: string;
  applicationName?: string | undefined;
}

export const TABLE_QUEUE: EventQueue = { kind: 'table' };

/** The queue a set of dependencies names (the database handle's `queue`); the table queue when none. */
export const queueOf = (deps: { queue?: EventQueue | undefined }): EventQueue => deps.queue ?? TABLE_QUEUE;

/** The graphile-worker task that runs over one customer's waiting events; its payload is `{ customer }`. */
export const CUSTOMER_TASK = 'stripe_customer_events';

/** graphile-worker's schema beside ours: its default for `public`, one per schema otherwise (tests). */
export const graphileSchemaFor = (schema: string) => (schema === 'public' ? 'graphile_worker' : `${schema}_graphile_worker`);

/** A function of graphile-worker's public SQL API, qualified by its schema. */
export const graphileFn = (queue: GraphileQueue, name: 'add_jobs' | 'force_unlock_workers') => sql.id(queue.schema, name);

/** A type of graphile-worker's public SQL API, qualified by its schema. */
export const graphileType = (queue: GraphileQueue, name: 'job_spec') => sql.id(queue.schema, name);

/** graphile-worker's public view of its jobs. */
export const graphileJobs = (queue: GraphileQueue) => sql.id(queue.schema, 'jobs');
