import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { type EventQueue, graphileSchemaFor, TABLE_QUEUE } from '../webhooks/event-queue.ts';
import { hasCluster, pgliteTemplate } from './pglite-template.ts';
import { PREPARED_MARK, preparedName } from './prepared.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

export interface DatabaseOptions {
  /** PostgreSQL URL; when absent the embedded PGlite is used. */
  url?: string | undefined;
  /** PGlite folder; absent means in memory. */
  dataDir?: string | undefined;
  /** Pool size for PostgreSQL. */
  poolSize?: number | undefined;
  /** Fail fast when the pool is exhausted or the server is gone (ms). */
  connectionTimeoutMillis?: number | undefined;
  /** Statement timeout applied to every PostgreSQL connection (ms). */
  statementTimeoutMillis?: number | undefined;
  /** Schema to work in (tests); created if missing. */
  schema?: string | undefined;
  /** Shown in pg_stat_activity: tells this service's connections from others. */
  applicationName?: string | undefined;
  /**
   * The Stripe event queue on PostgreSQL: graphile-worker (the default) or the table queue the
   * embedded PGlite uses (`table`, for a test of that queue on PostgreSQL).
   */
  eventQueue?: 'graphile-worker' | 'table' | undefined;
}

export interface DatabaseHandle {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** The `pg` pool behind `db` on PostgreSQL (for libraries that take one, such as the rate limiter). */
  pool?: pg.Pool | undefined;
  /** The schema the tables live in. */
  schema: string;
  /** Where Stripe event runs wait (graphile-worker on PostgreSQL, the table queue on PGlite). */
  queue: EventQueue;
  /** Resolves true when a trivial query succeeds. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

// int8 as string keeps precision; callers convert with Number() where they know the range.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => v);

/** A `pg` client that sends the statements marked PREPARED as named ones; everything else as before. */
class PreparingClient extends pg.Client {
  // pg's query has a dozen overloads; this forwards each one unchanged.
  override query(config: any, values?: any, callback?: any): any {
    if (typeof config === 'string' && Array.isArray(values) && config.includes(PREPARED_MARK)) {
      const name = preparedName(config);
      if (name) return super.query({ name, text: config, values }, callback);
    }
    return super.query(config, values, callback);
  }
}

/** One code path for both databases: PostgreSQL through `pg`, or PGlite embedded. */
export async function createDatabase(options: DatabaseOptions = {}): Promise<DatabaseHandle> {
  if (options.url) {
    const pool = new pg.Pool({
      Client: PreparingClient,
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
      statement_timeout: options.statementTimeoutMillis ?? 15_000,
      application_name: options.applicationName ?? 'miniapp-billing',
      ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    });
    // A connection lost while idle in the pool, or while checked out between two queries (say, a
    // transaction waiting on Stripe), must not crash the process: its next query fails instead and
    // the request answers 5xx. Without a listener, node would throw the 'error' event.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => {
      client.on('error', () => undefined);
    });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    if (options.schema) await sql`create schema if not exists ${sql.id(options.schema)}`.execute(db);
    return {
      db,
      kind: 'postgres',
      pool,
      schema: options.schema ?? 'public',
      queue:
        options.eventQueue === 'table'
          ? TABLE_QUEUE
          : {
              kind: 'graphile-worker',
              schema: graphileSchemaFor(options.schema ?? 'public'),
              connectionString: options.url,
              applicationName: `${options.applicationName ?? 'miniapp-billing'}-queue`,
            },
      ping: () => ping(db),
      close: () => db.destroy(),
    };
  }
  const template = hasCluster(options.dataDir) ? undefined : await pgliteTemplate();
  const pglite = new PGlite(options.dataDir, template ? { loadDataDir: template } : {});
  await pglite.waitReady;
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return { db, kind: 'pglite', schema: 'public', queue: TABLE_QUEUE, ping: () => ping(db), close: () => db.destroy() };
}

async function ping(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
