import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';

export interface TokenConfig {
  secret: string;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export interface AccessToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

/**
 * HS256 access tokens. The key is a KeyObject built once: `jsonwebtoken` with a string secret
 * re-derives it on every call (hundreds of microseconds), with a KeyObject it does not.
 *
 * A token once verified is remembered, by its whole text (signature included), until its `exp`:
 * the Mini App sends the same token with every request, and verifying it again (decoding, parsing,
 * the HMAC, the claim checks) was a tenth of a read's CPU. Only an identical token string hits, and
 * nothing about a token can change before it expires, so the answer is the one a fresh verification
 * would give. At most `maxRemembered` tokens are kept (the oldest go first).
 */
export class TokenService {
  private readonly key: KeyObject;
  private readonly verified = new Map<string, { sub: string; expiresAtMs: number }>();

  constructor(
    private readonly config: TokenConfig,
    private readonly maxRemembered = 10_000,
  ) {
    this.key = createSecretKey(Buffer.from(config.secret, 'utf8'));
  }

  /** How many verified tokens are remembered now (at most `maxRemembered`). */
  get remembered(): number {
    return this.verified.size;
  }

  issue(userId: string): AccessToken {
    const token = jwt.sign({}, this.key, {
      algorithm: 'HS256',
      subject: userId,
      issuer: this.config.issuer,
      audience: this.config.audience,
      expiresIn: this.config.ttlSeconds,
    });
    return { access_token: token, token_type: 'Bearer', expires_in: this.config.ttlSeconds };
  }

  /**
   * The user id of a valid token, or null. Only HS256 is accepted (no `none`, no other HMAC, no
   * public-key confusion); `exp`, `iss`, `aud` and `sub` are all required.
   */
  verify(token: string): string | null {
    if (token.length > 4096) return null;
    const known = this.verified.get(token);
    if (known) {
      if (known.expiresAtMs > Date.now()) return known.sub;
      this.verified.delete(token);
      return null;
    }
    try {
      const payload = jwt.verify(token, this.key, {
        algorithms: ['HS256'],
        issuer: this.config.issuer,
        audience: this.config.audience,
      });
      if (typeof payload !== 'object' || payload === null) return null;
      if (typeof payload.exp !== 'number' || typeof payload.sub !== 'string' || payload.sub.length === 0) return null;
      if (this.verified.size >= this.maxRemembered) {
        const oldest = this.verified.keys().next().value;
        if (oldest !== undefined) this.verified.delete(oldest);
      }
      this.verified.set(token, { sub: payload.sub, expiresAtMs: payload.exp * 1000 });
      return payload.sub;
    } catch {
      return null;
    }
  }
}

/** `Authorization: Bearer <token>` → token, else null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer ([A-Za-z0-9\-_=]+\.[A-Za-z0-9\-_=]*\.[A-Za-z0-9\-_.+/=]*)$/.exec(header.trim());
  return match ? (match[1] as string) : null;
}
