import { telegram } from './telegram.ts';

/**
 * The access token. Inside Telegram it lives in memory only: each launch signs in again from the
 * init data with no tap, so no token outlives the page (nothing for a script to lift from storage).
 * In a browser (the demo, the external browser after Checkout) it is kept across reloads until it
 * expires or the server refuses it.
 */
const KEY = 'billing.session';
let inMemory: StoredSession | null = null;
const persistent = () => !telegram.inTelegram;
const PENDING = 'billing.pendingCheckout';

export interface StoredSession {
  token: string;
  expiresAt: number;
  name: string;
}

export function loadSession(): StoredSession | null {
  if (!persistent()) return inMemory && inMemory.expiresAt > Date.now() + 30_000 ? inMemory : null;
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as StoredSession;
    return typeof s.token === 'string' && s.expiresAt > Date.now() + 30_000 ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(token: string, expiresInSeconds: number, name: string): StoredSession {
  const s = { token, expiresAt: Date.now() + expiresInSeconds * 1000, name };
  if (persistent()) localStorage.setItem(KEY, JSON.stringify(s));
  else inMemory = s;
  return s;
}

export function clearSession(): void {
  inMemory = null;
  localStorage.removeItem(KEY);
}

/** The checkout this browser started last, so the cancel page knows which one was left. */
export function rememberCheckout(sessionId: string): void {
  localStorage.setItem(PENDING, sessionId);
}

export function pendingCheckout(): string | null {
  return localStorage.getItem(PENDING);
}

export function forgetCheckout(): void {
  localStorage.removeItem(PENDING);
}
