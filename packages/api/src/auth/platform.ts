import { createSecretKey, type KeyObject } from 'node:crypto';
import { type Db, upsertPlatformUser } from '@miniapp-billing/billing-core';
import { createRemoteJWKSet, decodeJwt, type JWTPayload, jwtVerify } from 'jose';

export interface PlatformTokenConfig {
  issuer: string;
  audience: string;
  /** HS256 with a shared secret … */
  secret?: string | undefined;
  /** … or RS256/ES256 with the platform's published keys (fetched, cached and rotated by jose). */
  jwksUrl?: string | undefined;
  /** The longest lifetime (exp − iat) accepted, and the clock skew tolerated, in seconds. */
  maxLifetimeSeconds: number;
  clockSkewSeconds: number;
  /** The least time between two reads of the JWKS (a token with an unknown key makes one). */
  jwksCooldownSeconds?: number | undefined;
  /** Claims that carry the person's Telegram id and email, when the platform sends them. */
  telegramIdClaim?: string | undefined;
  emailClaim?: string | undefined;
}

/**
 * The platform's own tokens, beside ours: the issuer and audience must be the platform's, the
 * algorithm is pinned by how the platform signs (HS256 with the shared secret, RS256 or ES256 with
 * its JWKS; never both, never `none`), `exp` is required, and a lifetime longer than configured or
 * an `iat` in the future is refused. The person is the user kept for the token's `sub` (created the
 * first time, joined to the Telegram user the claims name).
 */
export class PlatformTokens {
  private readonly secret: KeyObject | undefined;
  private readonly jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  private readonly subjects = new Map<string, { userId: string; expires: number }>();

  constructor(
    private readonly db: Db,
    private readonly config: PlatformTokenConfig,
  ) {
    this.secret = config.secret ? createSecretKey(Buffer.from(config.secret, 'utf8')) : undefined;
    this.jwks = config.jwksUrl
      ? createRemoteJWKSet(new URL(config.jwksUrl), {
          cooldownDuration: (config.jwksCooldownSeconds ?? 30) * 1000,
          cacheMaxAge: 10 * 60_000,
        })
      : undefined;
  }

  /** Whether a token claims to be the platform's (its unverified `iss`): only then is it tried here. */
  claims(token: string): boolean {
    try {
      return decodeJwt(token).iss === this.config.issuer;
    } catch {
      return false;
    }
  }

  /** The id of the user a valid platform token names, or undefined. */
  async verify(token: string): Promise<string | undefined> {
    let payload: JWTPayload;
    const options = {
      issuer: this.config.issuer,
      audience: this.config.audience,
      clockTolerance: this.config.clockSkewSeconds,
      requiredClaims: ['exp', 'sub'],
    };
    try {
      if (this.secret) payload = (await jwtVerify(token, this.secret, { ...options, algorithms: ['HS256'] })).payload;
      else if (this.jwks) payload = (await jwtVerify(token, this.jwks, { ...options, algorithms: ['RS256', 'ES256'] })).payload;
      else return undefined;
    } catch {
      return undefined;
    }
    const now = Math.floor(Date.now() / 1000);
    const issuedAt = typeof payload.iat === 'number' ? payload.iat : now;
    if (issuedAt > now + this.config.clockSkewSeconds) return undefined;
    if ((payload.exp as number) - issuedAt > this.config.maxLifetimeSeconds) return undefined;
    const subject = payload.sub as string;
    if (subject.length === 0 || subject.length > 255) return undefined;
    const cached = this.subjects.get(subject);
    if (cached && cached.expires > Date.now()) return cached.userId;
    const telegram = this.config.telegramIdClaim ? payload[this.config.telegramIdClaim] : undefined;
    const email = this.config.emailClaim ? payload[this.config.emailClaim] : undefined;
    const user = await upsertPlatformUser(this.db, {
      subject,
      telegramId: Number.isSafeInteger(telegram) && (telegram as number) > 0 ? (telegram as number) : undefined,
      email: typeof email === 'string' && email.length <= 254 && email.includes('@') ? email : undefined,
      name: typeof payload.name === 'string' ? payload.name : undefined,
    });
    if (!user) return undefined;
    if (this.subjects.size >= 10_000) this.subjects.clear();
    this.subjects.set(subject, { userId: user.id, expires: Date.now() + 30_000 });
    return user.id;
  }
}
