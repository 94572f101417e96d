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
 */
export class TokenService {
  private readonly key: KeyObject;

  constructor(private readonly config: TokenConfig) {
    this.key = createSecretKey(Buffer.from(config.secret, 'utf8'));
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
    try {
      const payload = jwt.verify(token, this.key, {
        algorithms: ['HS256'],
        issuer: this.config.issuer,
        audience: this.config.audience,
      });
      if (typeof payload !== 'object' || payload === null) return null;
      if (typeof payload.exp !== 'number' || typeof payload.sub !== 'string' || payload.sub.length === 0) return null;
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
