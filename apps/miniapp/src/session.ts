/** The access token, kept across reloads; dropped when it expires or the server refuses it. */
const KEY = 'billing.session';
const PENDING = 'billing.pendingCheckout';

export interface StoredSession {
  token: string;
  expiresAt: number;
  name: string;
}

export function loadSession(): StoredSession | null {
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
  localStorage.setItem(KEY, JSON.stringify(s));
  return s;
}

export function clearSession(): void {
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
