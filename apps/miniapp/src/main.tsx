import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App, applyTheme } from './App.tsx';
import type { AppConfig } from './auth.tsx';
import { telegram } from './telegram.ts';
import './styles.css';

const fallback: AppConfig = { demo: false, app_url: window.location.origin, telegram_bot_username: null, telegram_app_name: null };

async function start() {
  telegram.ready();
  applyTheme();
  telegram.onThemeChanged(applyTheme);
  window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener('change', applyTheme);
  const config = await fetch('/config.json')
    .then((r) => (r.ok ? (r.json() as Promise<AppConfig>) : fallback))
    .catch(() => fallback);
  const root = document.getElementById('root');
  if (!root) return;
  createRoot(root).render(
    <StrictMode>
      <App config={config} />
    </StrictMode>,
  );
}

void start();
