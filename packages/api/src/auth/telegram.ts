import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TelegramUser {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export type InitDataResult =
  | { ok: true; user: TelegramUser; authDate: number; startParam: string | null }
  | { ok: false; reason: 'malformed' | 'bad_hash' | 'expired' | 'future' | 'no_user' };

/** Allowed clock difference for an `auth_date` slightly in the future. */
const FUTURE_SKEW_SECONDS = 30;

/**
 * Validates Telegram Mini App init data as Telegram specifies: the data-check string is every field
 * but `hash`, sorted by key, `key=value` joined by newlines; the key is HMAC-SHA256("WebAppData",
 * bot token); the hash is compared in constant time. `auth_date` must be within `maxAgeSeconds` and
 * not in the future.
 */
export function validateInitData(initData: string, botToken: string, maxAgeSeconds: number, now = Date.now()): InitDataResult {
  if (typeof initData !== 'string' || initData.length === 0 || initData.length > 8192) return { ok: false, reason: 'malformed' };
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(initData);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const hashes = params.getAll('hash');
  const hash = hashes[0];
  if (hashes.length !== 1 || !hash || !/^[0-9a-f]{64}$/.test(hash)) return { ok: false, reason: 'malformed' };
  const pairs: string[] = [];
  const seen = new Set<string>();
  for (const [key, value] of params) {
    if (key === 'hash') continue;
    if (seen.has(key)) return { ok: false, reason: 'malformed' };
    seen.add(key);
    pairs.push(`${key}=${value}`);
  }
  pairs.sort();
  const secret = createHmac('sha256', 'WebAppData').update(botToken).digest();
  const expected = createHmac('sha256', secret).update(pairs.join('\n')).digest();
  if (!timingSafeEqual(expected, Buffer.from(hash, 'hex'))) return { ok: false, reason: 'bad_hash' };

  const authDate = Number(params.get('auth_date'));
  if (!Number.isInteger(authDate) || authDate <= 0) return { ok: false, reason: 'malformed' };
  const nowSeconds = Math.floor(now / 1000);
  if (authDate > nowSeconds + FUTURE_SKEW_SECONDS) return { ok: false, reason: 'future' };
  if (nowSeconds - authDate > maxAgeSeconds) return { ok: false, reason: 'expired' };

  let user: TelegramUser;
  try {
    user = JSON.parse(params.get('user') ?? '');
  } catch {
    return { ok: false, reason: 'no_user' };
  }
  if (typeof user !== 'object' || user === null || !Number.isSafeInteger(user.id) || user.id <= 0 || typeof user.first_name !== 'string') {
    return { ok: false, reason: 'no_user' };
  }
  return { ok: true, user, authDate, startParam: params.get('start_param') };
}

/** Signs init data the way Telegram does (tests and the demo's simulated Telegram launch). */
export function signInitData(fields: Record<string, string>, botToken: string): string {
  const pairs = Object.entries(fields)
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  const secret = createHmac('sha256', 'WebAppData').update(botToken).digest();
  const hash = createHmac('sha256', secret).update(pairs.join('\n')).digest('hex');
  const params = new URLSearchParams(fields);
  params.set('hash', hash);
  return params.toString();
}

/** NUL and other control characters (PostgreSQL text refuses NUL; none belongs in a name). */
const isControl = (c: string) => {
  const n = c.codePointAt(0) ?? 0;
  return n < 0x20 || (n >= 0x7f && n <= 0x9f) || n === 0x2028 || n === 0x2029;
};
const clean = (s: string | undefined) =>
  Array.from(s ?? '', (c) => (isControl(c) ? ' ' : c))
    .join('')
    .replace(/\s+/g, ' ')
    .trim();

/** The name we keep for a Telegram user: first and last name, else the username, control characters removed. */
export function displayName(user: TelegramUser): string {
  const name = [clean(user.first_name), clean(user.last_name)].filter(Boolean).join(' ');
  return (name || clean(user.username) || `Telegram user ${user.id}`).slice(0, 128);
}
