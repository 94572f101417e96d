import { BillingError } from '../errors.ts';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const MAX_URL_LENGTH = 2048;

/** Normalises configured origins (`https://app.example.com`, `http://localhost:5173`) to URL origins. */
export function normaliseOrigins(origins: string[]): Set<string> {
  const out = new Set<string>();
  for (const o of origins) {
    const url = new URL(o);
    out.add(url.origin);
  }
  return out;
}

/** Whitespace, backslashes and control characters: what browsers and URL parsers disagree on. */
function hasUnsafeCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x5c || (c >= 0x80 && c <= 0x9f) || c === 0x2028 || c === 0x2029 || c === 0xa0 || c === 0xfeff)
      return true;
  }
  return false;
}

/**
 * Accepts a success, cancel or return URL only on an allowed origin: exact scheme, host and port;
 * https except on loopback; no credentials, backslashes, whitespace or control characters.
 * Returns the URL exactly as given, so the literal `{CHECKOUT_SESSION_ID}` reaches Stripe intact.
 */
export function checkRedirect(value: string, allowed: Set<string>, field: string): string {
  const refuse = () => new BillingError('INVALID_REDIRECT', `${field} is not on an allowed origin`);
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_URL_LENGTH) throw refuse();
  // Characters that browsers and parsers disagree on are refused before parsing.
  if (hasUnsafeCharacter(value) || !/^https?:\/\/[^/]/i.test(value)) throw refuse();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw refuse();
  }
  if (url.username || url.password) throw refuse();
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) throw refuse();
  if (!allowed.has(url.origin)) throw refuse();
  // What was written must be what was parsed: no percent-encoded or IDN-converted host, no default port.
  if (!value.toLowerCase().startsWith(`${url.protocol}//${url.host}`.toLowerCase())) throw refuse();
  const rest = value.slice(`${url.protocol}//${url.host}`.length);
  if (rest !== '' && !/^[/?#]/.test(rest)) throw refuse();
  return value;
}
