import { billingErrorOf, createBillingClient } from '@miniapp-billing/client';
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import { t } from './i18n.ts';
import { clearSession, loadSession, type StoredSession, saveSession } from './session.ts';
import { telegram } from './telegram.ts';

export interface AppConfig {
  demo: boolean;
  app_url: string;
  telegram_bot_username: string | null;
  telegram_app_name: string | null;
  /** The rails offered inside Telegram (`stars`, `stripe`); outside Telegram it is always Stripe. */
  rails?: string[];
  /** The time zone Stripe shows dates in (the account's; UTC unless it sets another). */
  time_zone?: string;
}

interface AuthState {
  session: StoredSession | null;
  status: 'idle' | 'signing-in' | 'error';
  /** Why sign-in failed, in plain words, and whether trying again can help. */
  error: SignInFailure | null;
  startParam: string | null;
  config: AppConfig;
  client: ReturnType<typeof createBillingClient>;
  signInDemo(): Promise<void>;
  signInTelegram(): Promise<void>;
  /** The server refused our token: forget it and sign in again (automatically inside Telegram). */
  onUnauthorized(): void;
}

const AuthContext = createContext<AuthState | null>(null);

export interface SignInFailure {
  message: string;
  /** False when the same attempt cannot succeed (the way out is reopening the app). */
  retry: boolean;
}

/** A failed sign-in in words a person can act on; never the server's wording. */
export function explainSignIn(err: unknown): SignInFailure {
  const { httpStatus } = billingErrorOf(err);
  if (httpStatus === 401 || httpStatus === 400 || httpStatus === 422) return { message: t('signIn.expired'), retry: false };
  if (httpStatus === 429) return { message: t('signIn.tooMany'), retry: true };
  return { message: t('signIn.unreachable'), retry: true };
}

export function useAuth(): AuthState {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth outside AuthProvider');
  return value;
}

export function AuthProvider({
  config,
  children,
  baseUrl = window.location.origin,
}: {
  config: AppConfig;
  children: ReactNode;
  baseUrl?: string;
}) {
  const [session, setSession] = useState<StoredSession | null>(() => loadSession());
  const [status, setStatus] = useState<AuthState['status']>('idle');
  const [error, setError] = useState<SignInFailure | null>(null);
  const [startParam, setStartParam] = useState<string | null>(telegram.startParam);
  const tokenRef = useRef<string | null>(session?.token ?? null);
  tokenRef.current = session?.token ?? null;
  const client = useMemo(() => createBillingClient({ url: baseUrl, getToken: () => tokenRef.current }), [baseUrl]);

  const run = useCallback(
    async (login: () => Promise<{ access_token: string; expires_in: number; user: { name: string }; start_param: string | null }>) => {
      setStatus('signing-in');
      setError(null);
      try {
        const res = await login();
        tokenRef.current = res.access_token;
        setSession(saveSession(res.access_token, res.expires_in, res.user.name));
        if (res.start_param) setStartParam(res.start_param);
        setStatus('idle');
      } catch (err) {
        setError(explainSignIn(err));
        setStatus('error');
      }
    },
    [],
  );

  const signInTelegram = useCallback(() => run(() => client.auth.telegram.mutate({ init_data: telegram.initData })), [client, run]);
  const signInDemo = useCallback(() => run(() => client.auth.demo.mutate()), [client, run]);
  const onUnauthorized = useCallback(() => {
    clearSession();
    tokenRef.current = null;
    setSession(null);
  }, []);

  // Inside Telegram, signing in needs no tap: the init data is exchanged for a token at once.
  useEffect(() => {
    if (!session && telegram.inTelegram && status === 'idle') void signInTelegram();
  }, [session, status, signInTelegram]);

  const value = useMemo<AuthState>(
    () => ({ session, status, error, startParam, config, client, signInDemo, signInTelegram, onUnauthorized }),
    [session, status, error, startParam, config, client, signInDemo, signInTelegram, onUnauthorized],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
