import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App, applyTheme, loadReturnPages, loadSignIn } from './App.tsx';
import type { AppConfig } from './auth.tsx';
import { setupI18n } from './i18n.ts';
import { loadSession } from './session.ts';
import { telegram } from './telegram.ts';
import './styles.css';

const fallback: AppConfig = { demo: false, app_url: window.location.origin, telegram_bot_username: null, telegram_app_name: null };

/** The configuration the server wrote into index.html: no request stands before the first render. */
function inlineConfig(): AppConfig | null {
  const text = document.getElementById('app-config')?.textContent;
  if (!text) return null;
  try {
    return JSON.parse(text) as AppConfig;
  } catch {
    return null;
  }
}

async function start() {
  // Back from Checkout: the return pages' chunk loads beside the rest, not after it.
  if (window.location.pathname.startsWith('/billing/') || telegram.startParam?.startsWith('paid-')) void loadReturnPages();
  if (!loadSession()) void loadSignIn();
  telegram.ready();
  applyTheme();
  telegram.onThemeChanged(applyTheme);
  window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener('change', applyTheme);
  // `pnpm dev` (Vite's own index.html) has no inline config: it is fetched there.
  const config =
    inlineConfig() ??
    (await fetch('/config.json')
      .then((r) => (r.ok ? (r.json() as Promise<AppConfig>) : fallback))
      .catch(() => fallback));
  await setupI18n({
    telegramCode: telegram.languageCode,
    browser: navigator.languages ?? [navigator.language],
    timeZone: config.time_zone,
  });
  const root = document.getElementById('root');
  if (!root) return;
  createRoot(root).render(
    <StrictMode>
      <App config={config} />
    </StrictMode>,
  );
}

void start();
