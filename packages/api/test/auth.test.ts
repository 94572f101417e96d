import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TokenService } from '../src/auth/jwt.ts';
import { signInitData, validateInitData } from '../src/auth/telegram.ts';
import { BOT_TOKEN, call, initDataFor, JWT_SECRET, startTestServer, type TestServer, telegramLogin } from './helpers.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const now = () => Math.floor(Date.now() / 1000);
const user = { id: 424242, first_name: 'Bo', last_name: 'Ng' };

describe('Telegram init data', () => {
  it('creates the user on first sign-in and updates the name on the next', async () => {
    const first = await call('POST', `${t.api}/auth/telegram`, { body: { init_data: initDataFor({ id: 777001, first_name: 'Old' }) } });
    expect(first.status).toBe(200);
    expect(first.body.user).toMatchObject({ telegram_id: 777001, name: 'Old' });
    const second = await call('POST', `${t.api}/auth/telegram`, {
      body: { init_data: initDataFor({ id: 777001, first_name: 'New', last_name: 'Name' }) },
    });
    expect(second.body.user).toEqual({ id: first.body.user.id, telegram_id: 777001, name: 'New Name' });
  });

  it('accepts the same fields in any order and passes start_param through', () => {
    const fields = { auth_date: String(now()), user: JSON.stringify(user), query_id: 'q', start_param: 'success' };
    const signed = new URLSearchParams(signInitData(fields, BOT_TOKEN));
    const reordered = new URLSearchParams([...signed.entries()].reverse()).toString();
    const result = validateInitData(reordered, BOT_TOKEN, 86_400);
    expect(result).toMatchObject({ ok: true, startParam: 'success', user: { id: 424242 } });
  });

  it.each([
    ['a changed user', (d: string) => d.replace('Bo', 'Eve'), 'bad_hash'],
    ['a changed auth_date', (d: string) => d.replace(/auth_date=\d+/, `auth_date=${now() + 1}`), 'bad_hash'],
    ['no hash', (d: string) => d.replace(/&?hash=[0-9a-f]+/, ''), 'malformed'],
    ['two hashes', (d: string) => `${d}&hash=${'0'.repeat(64)}`, 'malformed'],
    ['an extra field', (d: string) => `${d}&admin=1`, 'bad_hash'],
    [
      'another bot',
      () => signInitData({ auth_date: String(now()), user: JSON.stringify(user) }, '999:AAAnotherBotTokenThatIsLongEnough'),
      'bad_hash',
    ],
  ])('refuses %s', (_label, mutate, reason) => {
    const data = mutate(initDataFor(user));
    expect(validateInitData(data, BOT_TOKEN, 86_400)).toEqual({ ok: false, reason });
  });

  it.each([
    [-86_401, 'expired'],
    [-86_399, true],
    [0, true],
    [20, true],
    [120, 'future'],
  ])('auth_date %i seconds from now → %s', (offset, expected) => {
    const result = validateInitData(initDataFor(user, now() + (offset as number)), BOT_TOKEN, 86_400);
    if (expected === true) expect(result.ok).toBe(true);
    else expect(result).toEqual({ ok: false, reason: expected });
  });

  it('answers 401 over HTTP for bad init data, without echoing it', async () => {
    const res = await call('POST', `${t.api}/auth/telegram`, { body: { init_data: initDataFor(user).replace('Bo', 'Eve') } });
    expect(res.status).toBe(401);
    expect(JSON.stringify(res.body)).not.toContain('auth_date');
  });
});

describe('access tokens', () => {
  const claims = async () => ({ sub: (await telegramLogin(t)).user.id, iss: 'miniapp-billing', aud: 'miniapp-billing' });
  const exp = () => now() + 600;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cases: Array<[string, () => Promise<string>]> = [
    ['HS512 with the right secret', async () => jwt.sign({ ...(await claims()), exp: exp() }, JWT_SECRET, { algorithm: 'HS512' })],
    ['RS256', async () => jwt.sign({ ...(await claims()), exp: exp() }, privateKey, { algorithm: 'RS256' })],
    [
      'HS256 signed with the RSA public key (key confusion)',
      async () =>
        jwt.sign({ ...(await claims()), exp: exp() }, publicKey.export({ type: 'spki', format: 'pem' }).toString(), { algorithm: 'HS256' }),
    ],
    ['missing exp', async () => jwt.sign({ ...(await claims()) }, JWT_SECRET, { algorithm: 'HS256' })],
    ['wrong iss', async () => jwt.sign({ ...(await claims()), iss: 'someone-else', exp: exp() }, JWT_SECRET)],
    ['wrong aud', async () => jwt.sign({ ...(await claims()), aud: 'another-app', exp: exp() }, JWT_SECRET)],
    ['no sub', async () => jwt.sign({ iss: 'miniapp-billing', aud: 'miniapp-billing', exp: exp() }, JWT_SECRET)],
    [
      'unknown user',
      async () =>
        jwt.sign({ sub: '00000000-0000-4000-8000-000000000000', iss: 'miniapp-billing', aud: 'miniapp-billing', exp: exp() }, JWT_SECRET),
    ],
    [
      'sub that is not a user id',
      async () => jwt.sign({ sub: "1' or '1'='1", iss: 'miniapp-billing', aud: 'miniapp-billing', exp: exp() }, JWT_SECRET),
    ],
  ];
  it.each(cases)('%s → 401', async (_label, make) => {
    const res = await call('GET', `${t.api}/billing/subscription`, { token: await make() });
    expect(res.status).toBe(401);
  });

  it('a valid token is accepted', async () => {
    const token = jwt.sign({ ...(await claims()), exp: exp() }, JWT_SECRET, { algorithm: 'HS256' });
    expect((await call('GET', `${t.api}/billing/subscription`, { token })).status).toBe(200);
  });
});

describe('a verified token is remembered until it expires, and only as itself', () => {
  const service = () =>
    new TokenService({ secret: JWT_SECRET, issuer: 'miniapp-billing', audience: 'miniapp-billing', ttlSeconds: 600 }, 2);
  const sign = (sub: string, exp: number) => jwt.sign({ sub, iss: 'miniapp-billing', aud: 'miniapp-billing', exp }, JWT_SECRET);

  it('refuses a remembered token once its exp has passed', () => {
    const tokens = service();
    const exp = now() + 2;
    const token = sign('someone', exp);
    expect(tokens.verify(token)).toBe('someone');
    expect(tokens.verify(token)).toBe('someone');
    vi.useFakeTimers({ toFake: ['Date'], now: exp * 1000 });
    try {
      expect(tokens.verify(token)).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not take a token that differs from a remembered one in its signature', () => {
    const tokens = service();
    const token = sign('someone', now() + 600);
    expect(tokens.verify(token)).toBe('someone');
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    const forged = `${token.slice(0, -2)}${last}${token.slice(-1)}`;
    expect(tokens.verify(forged)).toBeNull();
  });

  it('keeps at most its bound; a forgotten token is verified afresh', () => {
    const tokens = service();
    const a = sign('a', now() + 600);
    for (const [sub, token] of [
      ['a', a],
      ['b', sign('b', now() + 600)],
      ['c', sign('c', now() + 600)],
    ])
      expect(tokens.verify(token as string)).toBe(sub);
    expect(tokens.remembered).toBe(2);
    expect(tokens.verify(a)).toBe('a');
    expect(tokens.remembered).toBe(2);
  });
});
