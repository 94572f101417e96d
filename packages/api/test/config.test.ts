import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from '../src/env.ts';
import { canShareListenPort } from '../src/http/listen.ts';

const production = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://u@db/billing',
  STRIPE_SECRET_KEY: 'sk_live_abcdefghijklmnop',
  STRIPE_WEBHOOK_SECRET: 'whsec_abcdefghijklmnop',
  PLAN_CATALOG_JSON: JSON.stringify({
    free: { features: { pdf: false } },
    premium_monthly: { price: 'price_123', features: { pdf: true } },
  }),
  JWT_SECRET: 'q7Vb2mX9sLk4Rz8Wc1Ny6Tf3Hd5Gp0Ja',
  TELEGRAM_BOT_TOKEN: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  APP_URL: 'https://app.example.com',
  METRICS_TOKEN: 'metrics-token-0123456789',
};

describe('configuration', () => {
  it('needs nothing in development', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ PORT: 3000, HOST: '127.0.0.1', DATA_DIR: '.data', STRIPE_EMULATOR_PORT: 12111 });
  });

  it('listens with 32 sockets where Node.js can share a port, and refuses more than one where it cannot', () => {
    if (canShareListenPort()) {
      expect(parseEnv({}).LISTEN_SOCKETS).toBe(32);
      expect(parseEnv({ LISTEN_SOCKETS: '4' }).LISTEN_SOCKETS).toBe(4);
    } else {
      expect(parseEnv({}).LISTEN_SOCKETS).toBe(1);
      expect(() => parseEnv({ LISTEN_SOCKETS: '4' })).toThrow(/LISTEN_SOCKETS: more than 1 needs SO_REUSEPORT/);
    }
    expect(parseEnv({ LISTEN_SOCKETS: '1' }).LISTEN_SOCKETS).toBe(1);
    expect(() => parseEnv({ LISTEN_SOCKETS: '0' })).toThrow(/LISTEN_SOCKETS/);
  });

  it('accepts a complete production configuration', () => {
    expect(parseEnv(production).NODE_ENV).toBe('production');
  });

  it.each([
    'DATABASE_URL',
    'STRIPE_SECRET_KEY',
    'STRIPE_WEBHOOK_SECRET',
    'PLAN_CATALOG_JSON',
    'JWT_SECRET',
    'TELEGRAM_BOT_TOKEN',
    'APP_URL',
    'METRICS_TOKEN',
  ])('in production, a missing %s stops start-up naming it', (name) => {
    const env = { ...production, [name]: undefined };
    expect(() => parseEnv(env)).toThrow(ConfigError);
    expect(() => parseEnv(env)).toThrow(name);
  });

  it.each([
    ['JWT_SECRET', 'short-secret'],
    ['STRIPE_WEBHOOK_SECRET', 'not-a-whsec'],
    ['PORT', 'eighty'],
    ['DATABASE_URL', 'mysql://x'],
    ['TELEGRAM_BOT_TOKEN', 'token'],
    ['ALLOWED_REDIRECT_ORIGINS', 'not a url'],
    ['APP_URL', 'http://app.example.com'],
    ['STRIPE_SECRET_KEY', 'sk_test_abcdefghijklmnop'],
    ['JWT_SECRET', 'a'.repeat(32)],
    ['TELEGRAM_AUTH_MAX_AGE_SECONDS', '315360000'],
    ['STRIPE_API_BASE', 'http://stripe.internal'],
  ])('a weak or malformed %s is refused naming it', (name, value) => {
    expect(() => parseEnv({ ...production, [name]: value })).toThrow(name);
  });

  it('a live key with NODE_ENV unset is refused: it would start without the production checks', () => {
    expect(() => parseEnv({ STRIPE_SECRET_KEY: 'sk_live_abcdefghijklmnop' })).toThrow(/NODE_ENV: must be set to production/);
    expect(parseEnv({ STRIPE_SECRET_KEY: 'sk_test_abcdefghijklmnop' }).NODE_ENV).toBe('development');
  });

  it('a malformed catalog stops start-up with the problem named', () => {
    expect(() => parseEnv({ ...production, PLAN_CATALOG_JSON: '{"free":{},"Premium":1}' })).toThrow(
      /PLAN_CATALOG_JSON is invalid at "Premium"/,
    );
    expect(() => parseEnv({ NODE_ENV: 'development', PLAN_CATALOG_JSON: 'not json' })).toThrow('PLAN_CATALOG_JSON is not valid JSON');
  });

  it('the price maps folded into the catalog are refused by name, saying where they went', () => {
    expect(() => parseEnv({ ...production, STRIPE_PRICE_MAP_JSON: '{"premium_monthly":"price_123"}' })).toThrow(
      /STRIPE_PRICE_MAP_JSON: is replaced by PLAN_CATALOG_JSON/,
    );
    expect(() => parseEnv({ STARS_PRICE_MAP_JSON: '{"premium_monthly":100}' })).toThrow(
      /STARS_PRICE_MAP_JSON: is replaced by PLAN_CATALOG_JSON/,
    );
  });

  it('a catalog that sells in Stars needs the bot webhook secret in production', () => {
    const stars = JSON.stringify({ free: {}, premium_monthly: { price: 'price_123', stars: 100 } });
    expect(() => parseEnv({ ...production, PLAN_CATALOG_JSON: stars })).toThrow(
      /TELEGRAM_WEBHOOK_SECRET: is required when PLAN_CATALOG_JSON sells in Stars/,
    );
    expect(
      parseEnv({ ...production, PLAN_CATALOG_JSON: stars, TELEGRAM_WEBHOOK_SECRET: 'a'.repeat(32) }).catalog.plans.premium_monthly?.stars,
    ).toBe(100);
  });
});
