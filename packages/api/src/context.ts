import type { BillingDeps, User } from '@miniapp-billing/billing-core';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { TokenService } from './auth/jwt.ts';
import type { PlatformTokens } from './auth/platform.ts';
import type { UserCache } from './auth/user-cache.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { BillingBot } from './telegram/bot.ts';

/** The dependencies, built once at start-up (tests build them with real parts). */
export interface ApiDeps {
  billing: BillingDeps;
  tokens: TokenService;
  users: UserCache;
  metrics: Metrics;
  logger: Logger;
  telegram: { botToken: string | undefined; maxAgeSeconds: number; botUsername: string | undefined; appName: string | undefined };
  /** Demo mode: `POST /auth/demo` exists only then. */
  demo: boolean;
  /** Per person: Checkout, portal and plan changes, counted together (shared by every process on PostgreSQL). */
  billingActions: RateLimiterAbstract;
  /** Tells this process's event workers that a webhook was stored (other processes poll). */
  wakeWorkers(): void;
  /** The bot (Telegram Stars rail, its webhook); absent when the rail is off. */
  bot?: BillingBot | undefined;
  /** Other services' tokens, by the SHA-256 of the token (never the token itself). */
  serviceTokens?: ServiceToken[] | undefined;
  /** The platform's own tokens, accepted beside ours when configured. */
  platformTokens?: PlatformTokens | undefined;
}

export interface ServiceToken {
  name: string;
  scope: 'read' | 'admin';
  hash: Buffer;
}

/** `SERVICE_TOKENS` entries (name:scope:sha256-hex) as the API keeps them. */
export function parseServiceTokens(entries: string[]): ServiceToken[] {
  return entries.map((e) => {
    const [name, scope, hex] = e.split(':') as [string, 'read' | 'admin', string];
    return { name, scope, hash: Buffer.from(hex, 'hex') };
  });
}

/**
 * A procedure's context: the dependencies under one key, plus what the request brings. Kept to a
 * few keys on purpose: tRPC copies the context at every middleware step.
 */
export interface Context {
  deps: ApiDeps;
  requestId: string;
  authorization: string | undefined;
  idempotencyKey: string | undefined;
  /** Who the bearer token names, resolved once per request by the first signed-in call. */
  principal?: Promise<User | undefined>;
}

export interface RequestLike {
  headers: Record<string, string | string[] | undefined>;
}

export function createContext(deps: ApiDeps, req: RequestLike, requestId: string): Context {
  const header = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  return { deps, requestId, authorization: header('authorization'), idempotencyKey: header('idempotency-key') };
}
