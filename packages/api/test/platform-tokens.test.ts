import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestServer, type TestServer, telegramLogin } from './helpers.ts';

// The platform's own tokens, beside ours: HS256 with a shared secret on one server, RS256 from a
// JWKS (served here on loopback, rotated mid-test) on another; forgeries of every kind refused.
const ISSUER = 'https://platform.example';
const AUDIENCE = 'billing';
const SECRET = 'platform-shared-secret-for-the-hs256-suite-000001';
const now = () => Math.floor(Date.now() / 1000);

let hs: TestServer;
let rs: TestServer;
let jwksServer: Server;
const keys: JWK[] = [];
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let rsaKey1: PrivateKey;
let rsaKey2: PrivateKey;

beforeAll(async () => {
  const one = await generateKeyPair('RS256', { extractable: true });
  const two = await generateKeyPair('RS256', { extractable: true });
  rsaKey1 = one.privateKey;
  rsaKey2 = two.privateKey;
  keys.push({ ...(await exportJWK(one.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' });
  const second = { ...(await exportJWK(two.publicKey)), kid: 'k2', alg: 'RS256', use: 'sig' };
  jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  (jwksServer as Server & { second?: JWK }).second = second;
  const common = {
    PLATFORM_JWT_ISSUER: ISSUER,
    PLATFORM_JWT_AUDIENCE: AUDIENCE,
    PLATFORM_CLAIM_TELEGRAM_ID: 'telegram_id',
    PLATFORM_CLAIM_EMAIL: 'email',
  };
  hs = await startTestServer({ ...common, PLATFORM_JWT_SECRET: SECRET, BILLING_ACTIONS_PER_MINUTE: '1000' });
  rs = await startTestServer({
    ...common,
    PLATFORM_JWKS_URL: `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`,
    PLATFORM_JWKS_COOLDOWN_SECONDS: '0',
  });
});
afterAll(async () => {
  await hs?.close();
  await rs?.close();
  await new Promise<void>((r) => jwksServer.close(() => r()));
});

const hsToken = (
  claims: Record<string, unknown> = {},
  opts: { sub?: string; iss?: string; aud?: string; exp?: number; iat?: number; secret?: string } = {},
) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(opts.sub ?? 'platform-user-1')
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? AUDIENCE)
    .setIssuedAt(opts.iat ?? now())
    .setExpirationTime(opts.exp ?? now() + 600)
    .sign(Buffer.from(opts.secret ?? SECRET));

const read = (t: TestServer, token: string) => call('GET', `${t.api}/billing/subscription`, { token });

describe('platform tokens', () => {
  it('an HS256 platform token reads and buys; its subject is one user, created on first sight', async () => {
    const token = await hsToken({ name: 'Pat Form', email: 'pat@example.com' }, { sub: 'hs-buyer' });
    const plan = await read(hs, token);
    expect(plan.status).toBe(200);
    expect(plan.body.tier).toBe('free');
    const checkout = await call('POST', `${hs.api}/billing/checkout`, { token, body: { plan_id: 'premium_monthly' } });
    expect(checkout.status).toBe(201);
    const again = await call('GET', `${hs.api}/billing/entitlements`, { token: await hsToken({}, { sub: 'hs-buyer' }) });
    const first = await call('GET', `${hs.api}/billing/entitlements`, { token });
    expect(again.body.user_id).toBe(first.body.user_id);
  });

  it('refuses forged, expired, wrong-issuer, wrong-audience, too-long-lived and alg-swapped tokens', async () => {
    const forged = await hsToken({}, { secret: 'a-different-secret-of-the-right-length-0001' });
    const expired = await hsToken({}, { iat: now() - 7200, exp: now() - 3600 });
    const otherIssuer = await hsToken({}, { iss: 'https://evil.example' });
    const otherAudience = await hsToken({}, { aud: 'someone-else' });
    const forever = await hsToken({}, { exp: now() + 90 * 86_400 });
    const future = await hsToken({}, { iat: now() + 3600, exp: now() + 7200 });
    // RS256 signed with a key the platform never published, and "none".
    const rsOnHs = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject('x')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(rsaKey1);
    const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'x', iss: ISSUER, aud: AUDIENCE, exp: now() + 600 })).toString('base64url')}.`;
    for (const token of [forged, expired, otherIssuer, otherAudience, forever, future, rsOnHs, none]) {
      const res = await read(hs, token);
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('UNAUTHORIZED');
    }
    // An HS256 token signed with the public key's bytes on the JWKS server: the algorithm is pinned.
    const swapped = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setSubject('x')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(Buffer.from(JSON.stringify(keys[0])));
    expect((await read(rs, swapped)).status).toBe(401);
  });

  it('RS256 from the JWKS, through a key rotation', async () => {
    const signed = (key: PrivateKey, kid: string, sub: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid })
        .setSubject(sub)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(key);
    expect((await read(rs, await signed(rsaKey1, 'k1', 'rs-user'))).status).toBe(200);
    // Not published yet: refused. Published: accepted (the JWKS is read again for an unknown key).
    expect((await read(rs, await signed(rsaKey2, 'k2', 'rs-user'))).status).toBe(401);
    keys.push((jwksServer as Server & { second?: JWK }).second as JWK);
    expect((await read(rs, await signed(rsaKey2, 'k2', 'rs-user'))).status).toBe(200);
    // The platform retires the first key: the second goes on working.
    keys.shift();
    expect((await read(rs, await signed(rsaKey2, 'k2', 'rs-other'))).status).toBe(200);
  });

  it('the same person through Telegram and through the platform is one user when the claims say so', async () => {
    const telegram = await telegramLogin(hs, { id: 88_000_001, first_name: 'Tele', last_name: 'Gram' });
    const token = await hsToken({ telegram_id: 88_000_001 }, { sub: 'platform-tele-gram' });
    const ent = await call('GET', `${hs.api}/billing/entitlements`, { token });
    expect(ent.status).toBe(200);
    expect(ent.body.user_id).toBe(telegram.user.id);
    // Another subject claiming the same Telegram account is not let in as that person.
    const thief = await hsToken({ telegram_id: 88_000_001 }, { sub: 'someone-else' });
    expect((await read(hs, thief)).status).toBe(401);
  });
});
