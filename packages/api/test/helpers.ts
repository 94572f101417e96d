import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase } from '@miniapp-billing/billing-core/testing';
import { emulatorControl } from '@miniapp-billing/stripe-emulator/testing';
import { signInitData } from '../src/auth/telegram.ts';
import { parseEnv, type RunningServer, startServer } from '../src/index.ts';
import { createLogger } from '../src/logger.ts';

export const BOT_TOKEN = '123456789:AAHtestTokenForTheMiniAppBillingSuite';
export const JWT_SECRET = 'test-jwt-secret-that-is-at-least-32-bytes-long';
export const METRICS_TOKEN = 'metrics-token-for-tests';

export interface TestServer {
  server: RunningServer;
  /** `http://127.0.0.1:port/api/v1` */
  api: string;
  base: string;
  /** Every log line the server wrote. */
  logs: string[];
  emulatorControl(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/**
 * The emulator answers at once and in order unless a suite asks for Stripe's time and load with
 * `...STRIPE_LIKE_ENV` (what the demo runs with).
 */
const FAST_STRIPE_ENV = {
  STRIPE_EMULATOR_LATENCY_MS: 'off',
  STRIPE_EMULATOR_RATE_LIMIT: 'off',
  STRIPE_EMULATOR_WEBHOOK_CONCURRENCY: '1',
  STRIPE_EMULATOR_WEBHOOK_JITTER_MS: '0',
};
export const STRIPE_LIKE_ENV = {
  STRIPE_EMULATOR_LATENCY_MS: '150/600',
  STRIPE_EMULATOR_RATE_LIMIT: 'test',
  STRIPE_EMULATOR_WEBHOOK_CONCURRENCY: '4',
  STRIPE_EMULATOR_WEBHOOK_JITTER_MS: '250',
};

/** The real server (demo wiring: emulator in-process, signed webhooks) on port 0 and a fresh database. */
export async function startTestServer(
  overrides: Record<string, string> = {},
  db: { poolSize?: number; connectionTimeoutMillis?: number; applicationName?: string } = {},
): Promise<TestServer> {
  const database = await createTestDatabase({ postgres: !!process.env.TEST_DATABASE_URL, url: process.env.TEST_DATABASE_URL, ...db });
  const logs: string[] = [];
  const logger = createLogger(overrides.LOG_LEVEL ?? 'info', { write: (line: string) => void logs.push(line) });
  const env = parseEnv({
    PORT: '0',
    STRIPE_EMULATOR_PORT: '0',
    TELEGRAM_EMULATOR_PORT: '0',
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'api-test-')),
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    JWT_SECRET,
    METRICS_TOKEN,
    APP_URL: 'https://app.example.com',
    ALLOWED_REDIRECT_ORIGINS: 'http://localhost:5173',
    ...FAST_STRIPE_ENV,
    ...overrides,
  });
  const server = await startServer(env, { database, logger });
  return {
    server,
    api: `${server.url}/api/v1`,
    base: server.url,
    logs,
    emulatorControl: (method, p, body) => emulatorControl({ url: server.emulator?.url ?? '' }, method, p, body),
    close: async () => {
      await server.close();
      await database.close();
    },
  };
}

export function initDataFor(
  user: { id: number; first_name: string; last_name?: string },
  authDate = Math.floor(Date.now() / 1000),
  extra: Record<string, string> = {},
): string {
  return signInitData({ auth_date: String(authDate), query_id: 'AAH-test', user: JSON.stringify(user), ...extra }, BOT_TOKEN);
}

export async function call(
  method: string,
  url: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const res = await fetch(url, {
    method,
    headers: {
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body, headers: res.headers };
}

export async function telegramLogin(
  t: TestServer,
  user = { id: 1000 + Math.floor(Math.random() * 1e9), first_name: 'Ann', last_name: 'Lee' },
) {
  const res = await call('POST', `${t.api}/auth/telegram`, { body: { init_data: initDataFor(user) } });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { access_token: string; user: { id: string; telegram_id: number; name: string } };
}

/** Pays a checkout on the emulator's hosted page, as a person would; returns where it redirected. */
export async function payOnHostedPage(_t: TestServer, checkoutUrl: string, card = '4242 4242 4242 4242'): Promise<string | null> {
  const res = await fetch(`${checkoutUrl}/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ card }).toString(),
    redirect: 'manual',
  });
  return res.headers.get('location');
}
