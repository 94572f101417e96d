import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInitData, validateInitData } from '../../src/auth/telegram.ts';
import { parseEnv } from '../../src/env.ts';
import { BOT_TOKEN, call, initDataFor, JWT_SECRET, METRICS_TOKEN, startTestServer, type TestServer } from '../helpers.ts';
import { figure, scale } from './figures.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ LOG_LEVEL: 'debug' });
});
afterAll(() => t.close());
const now = () => Math.floor(Date.now() / 1000);

describe('authentication', () => {
  it('init data tampering by property-based mutation: 0 false accepts', () => {
    const runs = scale(1_000, 20_000);
    const user = JSON.stringify({ id: 31337, first_name: 'Prop', username: 'prop' });
    const genuine = new URLSearchParams(signInitData({ auth_date: String(now()), query_id: 'AAQ', user, start_param: 'x' }, BOT_TOKEN));
    let accepted = 0;
    let checked = 0;
    fc.assert(
      fc.property(
        fc.constantFrom('auth_date', 'query_id', 'user', 'start_param', 'hash'),
        fc.oneof(fc.string(), fc.integer().map(String), fc.constant('')),
        fc.constantFrom('replace', 'append', 'delete', 'duplicate'),
        (key, value, op) => {
          const p = new URLSearchParams(genuine);
          if (op === 'replace') p.set(key, value);
          else if (op === 'append') p.append(`${key}${value.length % 3 === 0 ? '' : '_x'}`, value);
          else if (op === 'delete') p.delete(key);
          else p.append(key, p.get(key) ?? value);
          if (p.toString() === genuine.toString()) return;
          checked += 1;
          if (validateInitData(p.toString(), BOT_TOKEN, 86_400).ok) accepted += 1;
        },
      ),
      { numRuns: runs, seed: 42 },
    );
    figure('initdata-tampering', { cases: runs, mutated: checked, false_accepts: accepted });
    expect(accepted).toBe(0);
  });

  it('freshness table and reordering', () => {
    const table: Record<string, boolean> = {};
    for (const [label, offset] of [
      ['now', 0],
      ['minus_1h', -3600],
      ['minus_23h59m', -86_340],
      ['minus_24h01m', -86_460],
      ['plus_20s', 20],
      ['plus_5m', 300],
    ] as const) {
      table[label] = validateInitData(initDataFor({ id: 9, first_name: 'F' }, now() + offset), BOT_TOKEN, 86_400).ok;
    }
    const reordered = new URLSearchParams([...new URLSearchParams(initDataFor({ id: 9, first_name: 'F' }))].reverse()).toString();
    table.reordered = validateInitData(reordered, BOT_TOKEN, 86_400).ok;
    figure('initdata-freshness', table);
    expect(table).toEqual({
      now: true,
      minus_1h: true,
      minus_23h59m: true,
      minus_24h01m: false,
      plus_20s: true,
      plus_5m: false,
      reordered: true,
    });
  });

  it('every forged token kind is refused with 401', async () => {
    const login = await call('POST', `${t.api}/auth/demo`);
    const sub = login.body.user.id as string;
    const claims = { sub, iss: 'miniapp-billing', aud: 'miniapp-billing' };
    const exp = now() + 600;
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const tokens: Record<string, string> = {
      alg_none: `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ ...claims, exp })}.`,
      hs512: jwt.sign({ ...claims, exp }, JWT_SECRET, { algorithm: 'HS512' }),
      wrong_secret: jwt.sign({ ...claims, exp }, 'x'.repeat(40)),
      rs256: jwt.sign({ ...claims, exp }, privateKey, { algorithm: 'RS256' }),
      rs256_confusion: jwt.sign({ ...claims, exp }, publicKey.export({ type: 'spki', format: 'pem' }).toString(), { algorithm: 'HS256' }),
      expired: jwt.sign({ ...claims, exp: now() - 1 }, JWT_SECRET),
      missing_exp: jwt.sign(claims, JWT_SECRET),
      wrong_iss: jwt.sign({ ...claims, iss: 'evil', exp }, JWT_SECRET),
      wrong_aud: jwt.sign({ ...claims, aud: 'evil', exp }, JWT_SECRET),
      unknown_user: jwt.sign({ ...claims, sub: '11111111-1111-4111-8111-111111111111', exp }, JWT_SECRET),
    };
    const statuses: Record<string, number> = {};
    for (const [k, token] of Object.entries(tokens)) statuses[k] = (await call('GET', `${t.api}/billing/subscription`, { token })).status;
    figure('jwt-forgeries', { kinds: Object.keys(tokens).length, refused_401: Object.values(statuses).filter((s) => s === 401).length });
    expect(Object.values(statuses).every((s) => s === 401)).toBe(true);
    expect((await call('GET', `${t.api}/billing/subscription`, { token: login.body.access_token })).status).toBe(200);
  });

  it('start-up refuses weak secrets', () => {
    const refused: Record<string, boolean> = {};
    const base = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://x@h/d',
      STRIPE_SECRET_KEY: 'sk_live_abcdefghij',
      STRIPE_WEBHOOK_SECRET: 'whsec_abcdefghij',
      PLAN_CATALOG_JSON: '{"free":{},"a":{"price":"price_1"}}',
      TELEGRAM_BOT_TOKEN: '1:ABCDEFGHIJKLMNOPQRSTUVWXYZ',
      APP_URL: 'https://a.example',
      JWT_SECRET: 'q7Vb2mX9sLk4Rz8Wc1Ny6Tf3Hd5Gp0Ja',
      METRICS_TOKEN: 'metrics-token-0123456789',
    };
    expect(parseEnv(base).NODE_ENV).toBe('production');
    for (const [k, v] of [
      ['JWT_SECRET', 'short'],
      ['JWT_SECRET', ''],
      ['STRIPE_WEBHOOK_SECRET', 'secret'],
      ['METRICS_TOKEN', 'abc'],
    ] as const) {
      try {
        parseEnv({ ...base, [k]: v });
        refused[`${k}=${v.length}`] = false;
      } catch {
        refused[`${k}=${v.length}`] = true;
      }
    }
    figure('weak-secrets-refused', refused);
    expect(Object.values(refused).every(Boolean)).toBe(true);
  });

  it('the logs of the whole run contain no token, secret or init data', async () => {
    const init = initDataFor({ id: 8080, first_name: 'Logged' });
    const login = await call('POST', `${t.api}/auth/telegram`, { body: { init_data: init } });
    await call('GET', `${t.api}/billing/subscription`, { token: login.body.access_token });
    await call('GET', `${t.api}/billing/subscription`, { token: 'forged.token.value' });
    await call('POST', `${t.api}/billing/checkout`, { token: login.body.access_token, body: { plan_id: 'premium_monthly' } });
    const logs = t.logs.join('\n');
    const leaks = [login.body.access_token, JWT_SECRET, BOT_TOKEN, METRICS_TOKEN, 'auth_date', 'whsec_', 'sk_test_', 'hash='].filter((s) =>
      logs.includes(s),
    );
    figure('log-leaks', { log_lines: t.logs.length, leaks: leaks.length });
    expect(t.logs.length).toBeGreaterThan(3);
    expect(leaks).toEqual([]);
  });
});
