import { randomUUID } from 'node:crypto';
import { createUser, type Db } from '@miniapp-billing/billing-core';
import { createTestDatabase } from '@miniapp-billing/billing-core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserCache } from '../src/auth/user-cache.ts';

describe('the signed-in user cache', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let statements = 0;
  // Counts the statements sent through this handle (a plugin sees every query Kysely compiles).
  const counter: Parameters<Db['withPlugin']>[0] = {
    transformQuery: (args) => {
      statements += 1;
      return args.node;
    },
    transformResult: async (args) => args.result,
  };

  beforeAll(async () => {
    database = await createTestDatabase({ postgres: !!process.env.TEST_DATABASE_URL, url: process.env.TEST_DATABASE_URL });
  });
  afterAll(async () => {
    await database.close();
  });

  it('answers requests that miss the same person at once with one lookup, then from memory', async () => {
    const user = await createUser(database.db, { name: 'Cached' });
    const cache = new UserCache(database.db.withPlugin(counter));
    statements = 0;
    const found = await Promise.all(Array.from({ length: 20 }, () => cache.get(user.id)));
    expect(found.every((u) => u?.id === user.id && u.name === 'Cached')).toBe(true);
    expect(statements).toBe(1);
    expect((await cache.get(user.id))?.id).toBe(user.id);
    expect(statements).toBe(1);
  });

  it('does not remember someone who does not exist, and looks again next time', async () => {
    const cache = new UserCache(database.db.withPlugin(counter));
    const nobody = randomUUID();
    statements = 0;
    expect(await Promise.all([cache.get(nobody), cache.get(nobody)])).toEqual([undefined, undefined]);
    expect(statements).toBe(1);
    const later = await createUser(database.db, { name: 'Arrived', id: nobody });
    expect((await cache.get(nobody))?.id).toBe(later.id);
    expect(statements).toBe(2);
  });
});
