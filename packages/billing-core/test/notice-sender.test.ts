import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { type Notice, type SendOutcome, startNoticeSender } from '../src/index.ts';
import { createUser } from '../src/users/user.repository.ts';
import { testDatabase } from './harness.ts';

// The outbox's sender on a real database: several senders share it, a notice is sent at most once
// whatever happens to a sender, and Telegram's answers (blocked, 429, refused) are followed.
let database: DatabaseHandle;
beforeAll(async () => {
  database = await testDatabase();
  await migrateToLatest(database.db, database.schema);
});
afterAll(() => database.close());

let telegramIds = 7_000_000;
async function notices(count: number, options: { telegram?: boolean } = {}) {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const user = await createUser(database.db, { name: `n${i}` });
    if (options.telegram !== false)
      await database.db.updateTable('users').set({ telegram_id: ++telegramIds }).where('id', '=', user.id).execute();
    const row = await database.db
      .insertInto('billing_notifications')
      .values({
        user_id: user.id,
        kind: 'plan_activated',
        stripe_subscription_id: `s1:${user.id}:premium_monthly:abcdefgh`,
        dedupe_key: `t:${user.id}`,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids.push(Number(row.id));
  }
  return ids;
}
const statusOf = async (ids: number[]) =>
  Object.fromEntries(
    (await database.db.selectFrom('billing_notifications').select(['id', 'status']).where('id', 'in', ids).execute()).map((r) => [
      Number(r.id),
      r.status,
    ]),
  );
const until = async (check: () => Promise<boolean>, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('the notice sender', () => {
  it('three senders at once send each notice exactly once', async () => {
    const ids = await notices(30);
    const sent: number[] = [];
    const send = async (n: Notice): Promise<SendOutcome> => {
      await new Promise((r) => setTimeout(r, Math.random() * 10));
      sent.push(n.id);
      return { kind: 'sent' };
    };
    const senders = [1, 2, 3].map(() => startNoticeSender(database.db, { send, pollMs: 10, batch: 4 }));
    await until(async () => Object.values(await statusOf(ids)).every((s) => s === 'sent'));
    await Promise.all(senders.map((s) => s.stop()));
    const mine = sent.filter((id) => ids.includes(id));
    expect(mine.sort((a, b) => a - b)).toEqual(ids);
    expect(new Set(mine).size).toBe(30);
  });

  it('a sender that dies mid-send never causes a second message: the notice ends unconfirmed', async () => {
    const [id] = (await notices(1)) as [number];
    let calls = 0;
    const hung = startNoticeSender(database.db, {
      send: () => {
        calls += 1;
        return new Promise<SendOutcome>(() => undefined);
      },
      leaseMs: 100,
      pollMs: 10,
    });
    await until(async () => calls === 1);
    void hung.stop(); // never resolves its send: as good as dead
    const other = startNoticeSender(database.db, {
      send: async () => {
        calls += 100;
        return { kind: 'sent' };
      },
      leaseMs: 100,
      pollMs: 20,
    });
    await until(async () => (await statusOf([id]))[id] === 'unconfirmed');
    await new Promise((r) => setTimeout(r, 100));
    await other.stop();
    expect(calls).toBe(1);
  });

  it('a person who blocked the bot is skipped from then on; a person with no Telegram chat too', async () => {
    const [blocker, next] = (await notices(2)) as [number, number];
    const [noChat] = (await notices(1, { telegram: false })) as [number];
    const blockerRow = await database.db
      .selectFrom('billing_notifications')
      .select('user_id')
      .where('id', '=', blocker)
      .executeTakeFirstOrThrow();
    // The second notice is the same person's.
    await database.db.updateTable('billing_notifications').set({ user_id: blockerRow.user_id }).where('id', '=', next).execute();
    const asked: number[] = [];
    const sender = startNoticeSender(database.db, {
      send: async (n) => {
        asked.push(n.id);
        return { kind: 'blocked' };
      },
      pollMs: 10,
    });
    await until(async () => Object.values(await statusOf([blocker, next, noChat])).every((s) => s === 'skipped'));
    await sender.stop();
    expect(asked).toEqual([blocker]);
    const user = await database.db
      .selectFrom('users')
      .select('telegram_blocked_at')
      .where('id', '=', blockerRow.user_id)
      .executeTakeFirstOrThrow();
    expect(user.telegram_blocked_at).toBeInstanceOf(Date);
  });

  it('a 429 waits retry_after, then sends once; a refusal fails the notice', async () => {
    const [limited, refused] = (await notices(2)) as [number, number];
    const tries: Array<{ id: number; at: number }> = [];
    const sender = startNoticeSender(database.db, {
      send: async (n) => {
        tries.push({ id: n.id, at: Date.now() });
        if (n.id === refused) return { kind: 'refused', cause: 'telegram 400' };
        return tries.filter((t) => t.id === limited).length === 1
          ? { kind: 'retry', afterSeconds: 1, cause: 'telegram 429' }
          : { kind: 'sent' };
      },
      pollMs: 20,
    });
    await until(async () => {
      const s = await statusOf([limited, refused]);
      return s[limited] === 'sent' && s[refused] === 'failed';
    });
    await sender.stop();
    const attempts = tries.filter((t) => t.id === limited);
    expect(attempts).toHaveLength(2);
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });
});
