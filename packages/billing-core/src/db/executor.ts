import type { Transaction } from 'kysely';
import type { Db } from './database.ts';
import type { Database } from './schema.ts';

/** A transaction: repositories that lock or must see the caller's writes take one. */
export type Trx = Transaction<Database>;
/** The database or a transaction: what every repository function takes first. */
export type Executor = Db | Trx;
