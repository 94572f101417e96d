import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { DatabaseHandle } from '../db/database.ts';
import { BillingError } from '../errors.ts';

export interface LimitOptions {
  /** Names the limit; keys are `<prefix>:<key>`. */
  keyPrefix: string;
  /** How many actions… */
  points: number;
  /** …per this many seconds. */
  duration: number;
}

/**
 * A fixed-window limiter from rate-limiter-flexible. On PostgreSQL its counters live in the
 * `rate_limits` table, so the limit holds across every process; the embedded PGlite is one process,
 * so its counters live in memory.
 */
export function createRateLimiter(database: Pick<DatabaseHandle, 'pool' | 'schema'>, options: LimitOptions): RateLimiterAbstract {
  if (database.pool) {
    return new RateLimiterPostgres({
      storeClient: database.pool,
      storeType: 'pool',
      tableName: 'rate_limits',
      schemaName: database.schema,
      tableCreated: true,
      clearExpiredByTimeout: false,
      keyPrefix: options.keyPrefix,
      points: options.points,
      duration: options.duration,
    });
  }
  return new RateLimiterMemory({ keyPrefix: options.keyPrefix, points: options.points, duration: options.duration });
}

/** Takes one point for `key`, or throws `RATE_LIMITED` saying when to come back. */
export async function takePoint(limiter: RateLimiterAbstract, key: string): Promise<void> {
  try {
    await limiter.consume(key, 1);
  } catch (err) {
    if (err instanceof RateLimiterRes) {
      const seconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      throw Object.assign(new BillingError('RATE_LIMITED', `Too many attempts; try again in ${seconds} s`), { retryAfterSeconds: seconds });
    }
    throw err;
  }
}
