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

/**
 * The user a platform token names, created the first time its subject is seen. When the token says
 * which Telegram account the person has (or their email), and a user of ours already has it, that
 * user is the same person: the subject is attached to them (never moved from another subject).
 */
export async function upsertPlatformUser(
  db: Executor,
  input: { subject: string; telegramId?: number | undefined; email?: string | undefined; name?: string | undefined },
): Promise<User | undefined> {
  const known = await db.selectFrom('users').selectAll().where('platform_subject', '=', input.subject).executeTakeFirst();
  if (known) return toUser(known);
  const match =
    input.telegramId !== undefined
      ? await db.selectFrom('users').selectAll().where('telegram_id', '=', input.telegramId).executeTakeFirst()
      : input.email
        ? await db.selectFrom('users').selectAll().where('email', '=', input.email).where('platform_subject', 'is', null).executeTakeFirst()
        : undefined;
  if (match) {
    if (match.platform_subject !== null && match.platform_subject !== input.subject) return undefined;
    const linked = await db
      .updateTable('users')
      .set({ platform_subject: input.subject, updated_at: new Date() })
      .where('id', '=', match.id)
      .where('platform_subject', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (linked) return toUser(linked);
  }
  const created = await db
    .insertInto('users')
    .values({
      id: randomUUID(),
      platform_subject: input.subject,
      name: (input.name ?? 'Platform user').slice(0, 128),
      telegram_id: input.telegramId ?? null,
      email: input.email ?? null,
    })
    .onConflict((oc) => oc.column('platform_subject').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (created) return toUser(created);
  // Another request created it at the same moment.
  const raced = await db.selectFrom('users').selectAll().where('platform_subject', '=', input.subject).executeTakeFirst();
  return raced ? toUser(raced) : undefined;
}
