import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { NoticeKind } from './notice.repository.ts';

/** What the bot's `sendMessage` came to, as the sender needs to know it. */
export type SendOutcome =
  | { kind: 'sent' }
  /** The person blocked the bot (403): stop until they sign in through Telegram again. */
  | { kind: 'blocked' }
  /** Telegram said not now (429 with retry_after, or its own 5xx): nothing was sent. */
  | { kind: 'retry'; afterSeconds: number; cause: string }
  /** Telegram refused it for good (another 4xx). */
  | { kind: 'refused'; cause: string }
  /** No answer: it may or may not have been sent, so it is never sent again. */
  | { kind: 'unknown'; cause: string };

export interface Notice {
  id: number;
  kind: NoticeKind;
  userId: string;
  telegramId: number;
  /** The plan it is about, when known (Stripe subscription's plan, or the Stars payload's). */
  planId: string | null;
}

export interface NoticeSenderOptions {
  /** Sends one notice through the bot; never throws. */
  send(notice: Notice): Promise<SendOutcome>;
  /** How long a claim holds (a sender that dies loses its claims after this). */
  leaseMs?: number;
  pollMs?: number;
  batch?: number;
  maxAttempts?: number;
  onError?: (err: unknown) => void;
  /** Runs before each pass: writes notices that come from time passing (a Stars plan that lapsed). */
  beforeEachPass?: () => Promise<unknown>;
}

export interface NoticeSender {
  /** Sends what is due now; resolves with how many were handled. */
  runOnce(): Promise<number>;
  wake(): void;
  stop(): Promise<void>;
}

/**
 * Claims due notices by lease (`skip locked`: several senders in several processes share the
 * outbox) and moves each to `sending` before the call, so that a notice is never sent twice: a
 * sender that died mid-send leaves it `sending`, and an expired `sending` claim becomes
 * `unconfirmed`, not pending. A person without a Telegram chat, or who blocked the bot, is skipped;
 * a 429 waits its `retry_after` (and the sender with it: the limit is the bot's).
 */
export function startNoticeSender(db: Db, options: NoticeSenderOptions): NoticeSender {
  const leaseMs = options.leaseMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? 8;
  let pauseUntil = 0;

  const runOnce = async (): Promise<number> => {
    if (Date.now() < pauseUntil) return 0;
    await options.beforeEachPass?.();
    // A claim that outlived its lease while sending: its fate is unknown, so it is never resent.
    await db
      .updateTable('billing_notifications')
      .set({ status: 'unconfirmed', locked_until: null, last_error: 'the sender stopped while sending' })
      .where('status', '=', 'sending')
      .where('locked_until', '<', sql<Date>`now()`)
      .execute();
    const claimed = await sql<{ id: string | number; kind: NoticeKind; user_id: string; stripe_subscription_id: string; attempts: number }>`
      update billing_notifications n
         set status = 'sending', locked_until = now() + ${`${leaseMs} milliseconds`}::interval, attempts = n.attempts + 1
       where n.id in (
         select id from billing_notifications
          where status = 'pending' and next_attempt_at <= now()
          order by id
          limit ${options.batch ?? 20}
          for update skip locked)
      returning n.id, n.kind, n.user_id, n.stripe_subscription_id, n.attempts`.execute(db);
    for (const row of claimed.rows) {
      const id = Number(row.id);
      const user = await db
        .selectFrom('users')
        .select(['telegram_id', 'telegram_blocked_at'])
        .where('id', '=', row.user_id)
        .executeTakeFirst();
      const finish = (
        status: 'sent' | 'skipped' | 'failed' | 'unconfirmed' | 'pending',
        extra: { last_error?: string; next_attempt_at?: Date } = {},
      ) =>
        db
          .updateTable('billing_notifications')
          .set({ status, locked_until: null, ...(status === 'sent' ? { sent_at: new Date() } : {}), ...extra })
          .where('id', '=', id)
          .execute();
      if (!user || user.telegram_id === null) {
        await finish('skipped', { last_error: 'no Telegram chat' });
        continue;
      }
      if (user.telegram_blocked_at) {
        await finish('skipped', { last_error: 'the person blocked the bot' });
        continue;
      }
      const planId = await planOf(db, row.stripe_subscription_id);
      const outcome = await options.send({ id, kind: row.kind, userId: row.user_id, telegramId: Number(user.telegram_id), planId });
      switch (outcome.kind) {
        case 'sent':
          await finish('sent');
          break;
        case 'blocked':
          await db.updateTable('users').set({ telegram_blocked_at: new Date() }).where('id', '=', row.user_id).execute();
          await finish('skipped', { last_error: 'the person blocked the bot' });
          break;
        case 'retry':
          if (row.attempts >= maxAttempts) await finish('failed', { last_error: outcome.cause });
          else await finish('pending', { last_error: outcome.cause, next_attempt_at: new Date(Date.now() + outcome.afterSeconds * 1000) });
          pauseUntil = Date.now() + outcome.afterSeconds * 1000;
          {
            // The bot is told to wait: the rest of this claim goes back, untried.
            const rest = claimed.rows.slice(claimed.rows.indexOf(row) + 1).map((r) => Number(r.id));
            if (rest.length)
              await db
                .updateTable('billing_notifications')
                .set((eb) => ({ status: 'pending', locked_until: null, attempts: eb('attempts', '-', 1) }))
                .where('id', 'in', rest)
                .execute();
            return claimed.rows.indexOf(row) + 1;
          }
        case 'refused':
          await finish('failed', { last_error: outcome.cause });
          break;
        case 'unknown':
          await finish('unconfirmed', { last_error: outcome.cause });
          break;
      }
    }
    return claimed.rows.length;
  };

  let stopped = false;
  let busy = false;
  let again = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const loop = () => {
    if (stopped) return;
    busy = true;
    running = runOnce()
      .catch((err: unknown) => options.onError?.(err))
      .finally(() => {
        busy = false;
        if (!stopped) timer = setTimeout(loop, again ? 0 : (options.pollMs ?? 1_000));
        again = false;
      });
  };
  timer = setTimeout(loop, 0);
  return {
    runOnce,
    wake: () => {
      if (stopped) return;
      if (busy) {
        again = true;
        return;
      }
      if (timer) clearTimeout(timer);
      timer = setTimeout(loop, 0);
    },
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

/** The plan a notice is about: the Stripe subscription's, or the one a Stars payload names. */
async function planOf(db: Db, subscriptionId: string): Promise<string | null> {
  if (subscriptionId.startsWith('s1:')) return subscriptionId.split(':')[2] ?? null;
  const row = await db
    .selectFrom('subscriptions')
    .select('plan_id')
    .where('stripe_subscription_id', '=', subscriptionId)
    .executeTakeFirst();
  return row?.plan_id ?? null;
}
