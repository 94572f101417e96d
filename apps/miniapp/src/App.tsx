import { isUnauthorized } from '@miniapp-billing/client';
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { lazy, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type AppConfig, AuthProvider, useAuth } from './auth.tsx';
import { Skeleton } from './components/ui.tsx';
import { guardContrast } from './contrast.ts';
import { BillingPage } from './pages/BillingPage.tsx';
import { telegram } from './telegram.ts';

// The pages a return from Checkout shows are their own chunk: the billing page does not carry them.
// main.tsx starts loading it at once when the app opens on one of them.
export const loadReturnPages = () => import('./pages/ReturnPages.tsx');
const SuccessPage = lazy(() => loadReturnPages().then((m) => ({ default: m.SuccessPage })));
const CancelPage = lazy(() => loadReturnPages().then((m) => ({ default: m.CancelPage })));
// Signing in is its own chunk too: someone signed in never needs it. main.tsx starts it at once when
// there is no session to show the billing page with.
export const loadSignIn = () => import('./pages/SignIn.tsx');
const SignIn = lazy(() => loadSignIn().then((m) => ({ default: m.SignIn })));

type Route = { name: 'billing' } | { name: 'success'; sessionId: string } | { name: 'cancel' };

function routeOf(location: Location, startParam: string | null): Route {
  const path = location.pathname.replace(/\/+$/, '');
  if (path === '/billing/success') return { name: 'success', sessionId: new URLSearchParams(location.search).get('session_id') ?? '' };
  if (path === '/billing/cancel') return { name: 'cancel' };
  // Relaunched from the link after paying in the external browser: t.me/<bot>/<app>?startapp=paid-<session>
  if (startParam?.startsWith('paid-')) return { name: 'success', sessionId: startParam.slice(5) };
  return { name: 'billing' };
}

function Shell() {
  const { t } = useTranslation();
  const auth = useAuth();
  const [route, setRoute] = useState<Route>(() => routeOf(window.location, auth.startParam));
  useEffect(() => setRoute(routeOf(window.location, auth.startParam)), [auth.startParam]);
  useEffect(() => {
    const onPop = () => setRoute(routeOf(window.location, null));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const goToBilling = () => {
    window.history.pushState(null, '', '/');
    setRoute({ name: 'billing' });
  };

  const onUnauthorized = useRef(auth.onUnauthorized);
  onUnauthorized.current = auth.onUnauthorized;
  const queryClient = useMemo(() => {
    const onError = (err: unknown) => {
      if (isUnauthorized(err)) onUnauthorized.current();
    };
    return new QueryClient({
      queryCache: new QueryCache({ onError }),
      mutationCache: new MutationCache({ onError }),
      defaultOptions: { queries: { retry: (count, err) => !isUnauthorized(err) && count < 2, staleTime: 15_000 } },
    });
  }, []);
  // A new person signed in: nothing of the previous one stays on screen.
  const token = auth.session?.token;
  useEffect(() => {
    if (!token) queryClient.clear();
  }, [token, queryClient]);

  const page =
    route.name === 'success' ? (
      <SuccessPage sessionId={route.sessionId} onBack={goToBilling} />
    ) : !auth.session ? (
      <SignIn />
    ) : route.name === 'cancel' ? (
      <CancelPage onBack={goToBilling} />
    ) : (
      <BillingPage />
    );
  return (
    <QueryClientProvider client={queryClient}>
      <header className="topbar">
        <h1>{t('app.title')}</h1>
        {auth.session ? <span className="muted who">{auth.session.name}</span> : null}
      </header>
      <main>
        <Suspense fallback={<Skeleton label={t('success.confirming')} lines={3} />}>{page}</Suspense>
      </main>
    </QueryClientProvider>
  );
}

export function App({ config }: { config: AppConfig }) {
  return (
    <AuthProvider config={config}>
      <Shell />
    </AuthProvider>
  );
}

const systemDark = () => window.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false;

/** Light or dark from Telegram's theme inside Telegram, from the system outside it. */
export function applyTheme(): void {
  document.documentElement.dataset.theme = telegram.colorScheme() ?? (systemDark() ? 'dark' : 'light');
  // Every text and control at 4.5:1 or more against what it is drawn on, whatever the theme.
  guardContrast();
}
