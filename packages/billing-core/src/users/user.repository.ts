import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Executor } from '../db/executor.ts';
import type { UserRow } from '../db/schema.ts';

/** The person behind a request: our user id is the JWT `sub` and the Stripe customer's metadata.user_id. */
export interface User {
  id: string;
  telegramId: number | null;
  name: string;
  email: string | null;
}

export function toUser(row: UserRow): User {
  return { id: row.id, telegramId: row.telegram_id === null ? null : Number(row.telegram_id), name: row.name, email: row.email };
}

export async function findUserById(db: Executor, id: string): Promise<User | undefined> {
  const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toUser(row) : undefined;
}

/** Creates the user for a Telegram id, or refreshes their name; safe under concurrent logins. */
export async function upsertTelegramUser(db: Executor, input: { telegramId: number; name: string }): Promise<User> {
  const row = await db
    .insertInto('users')
    .values({ id: randomUUID(), telegram_id: input.telegramId, name: input.name })
    .onConflict((oc) =>
      // Signing in through Telegram again is writing to the bot again: notices may resume.
      oc.column('telegram_id').doUpdateSet({ name: (eb) => eb.ref('excluded.name'), telegram_blocked_at: null, updated_at: sql`now()` }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
  return toUser(row);
}

export async function createUser(db: Executor, input: { name: string; email?: string | null; id?: string }): Promise<User> {
  const row = await db
    .insertInto('users')
    .values({ id: input.id ?? randomUUID(), name: input.name, email: input.email ?? null })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toUser(row);
}
