import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, initDataFor, startTestServer, type TestServer, telegramLogin } from './helpers.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ API_DOCS: '0' });
});
afterAll(() => t.close());

describe('the HTTP edge refuses what would break it', () => {
  it('signed init data with NUL and control characters in the name signs in, and the name is stored clean', async () => {
    const res = await call('POST', `${t.api}/auth/telegram`, {
      body: { init_data: initDataFor({ id: 424_242, first_name: 'An\u0000n\u0007', last_name: 'Lee\u2028' }) },
    });
    expect(res.status).toBe(200);
    expect(res.body.user.name).toBe('An n Lee');
  });

  it('a deeply nested JSON body gets 422 on REST and tRPC, never a 500', async () => {
    const login = await telegramLogin(t);
    const deep = `{"plan_id":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const rest = await call('POST', `${t.api}/billing/checkout`, { token: login.access_token, body: deep });
    expect(rest.status).toBe(422);
    expect(rest.body).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', reason: 'VALIDATION_FAILED', request_id: expect.any(String) });
    const trpc = await fetch(`${t.base}/trpc/billing.checkout.create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${login.access_token}`, 'content-type': 'application/json' },
      body: deep,
    });
    expect(trpc.status).toBe(422);
    // Brackets inside strings are text, not nesting: this one reaches the schema (and fails it there).
    const text = await call('POST', `${t.api}/billing/checkout`, { token: login.access_token, body: { plan_id: '['.repeat(100) } });
    expect(text.status).toBe(422);
    expect(text.body.message).not.toMatch(/nests deeper/);
  });

  it('the OpenAPI document names the configured server whatever Host a request carries', async () => {
    const res = await fetch(`${t.api}/openapi.json`, { headers: { host: 'evil.example' } });
    const doc = (await res.json()) as { servers: Array<{ url: string }> };
    expect(doc.servers.map((s) => s.url)).toEqual(['https://app.example.com/api/v1']);
  });

  it('the docs page is off when API_DOCS=0', async () => {
    const res = await call('GET', `${t.api}/docs/`);
    expect(res.status).toBe(404);
  });

  it('every answer carries the security headers; billing answers are never stored', async () => {
    const login = await telegramLogin(t);
    // API answers: nothing may load from JSON or frame it, and it is never stored.
    for (const url of [`${t.api}/billing/subscription`, `${t.base}/trpc/billing.subscription.get`, `${t.api}/nope`]) {
      const res = await fetch(url, { headers: { authorization: `Bearer ${login.access_token}` } });
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
      expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    // Pages: the Mini App may be framed by Telegram's clients and nothing else.
    const page = await fetch(`${t.base}/`);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'self' https://web.telegram.org https://*.telegram.org");
    expect(page.headers.get('cache-control')).not.toBe('no-store');
  });

  it('1,000 distinct tRPC batches and unknown paths leave the number of metric series unchanged', async () => {
    const login = await telegramLogin(t);
    const names = ['billing.subscription.get', 'billing.plans.list', 'billing.invoices.list'];
    const series = async () =>
      (await call('GET', `${t.base}/metrics`, { headers: { authorization: 'Bearer metrics-token-for-tests' } })).body
        .split('\n')
        .filter((l: string) => l.startsWith('http_request_duration_seconds_count')).length;
    // One of each kind first, so that every series that can exist does.
    await fetch(`${t.base}/trpc/${names.slice(0, 2).join(',')}?batch=1`, { headers: { authorization: `Bearer ${login.access_token}` } });
    await fetch(`${t.base}/trpc/${names.join(',')},${names[0]}?batch=1`, { headers: { authorization: `Bearer ${login.access_token}` } });
    await fetch(`${t.base}/trpc/nope.${Date.now()}`);
    await fetch(`${t.api}/nope/${Date.now()}`);
    await fetch(`${t.base}/nope/${Date.now()}`);
    await series(); // the scrape itself is a series too
    const before = await series();
    for (let i = 0; i < 250; i++) {
      const batch = Array.from({ length: 2 + (i % 3) }, (_, k) => names[(i + k) % 3]).join(',');
      await fetch(`${t.base}/trpc/${batch}?batch=1&n=${i}`, { headers: { authorization: `Bearer ${login.access_token}` } });
      await fetch(`${t.base}/trpc/unknown.proc${i}`);
      await fetch(`${t.api}/unknown/path/${i}`);
      await fetch(`${t.base}/some/page/${i}`);
    }
    expect(await series()).toBe(before);
  });

  it('the Mini App is served precompressed, hashed assets cached for a year, index.html revalidated, no source maps in production', async () => {
    const { createHandler } = await import('../src/app.ts');
    const { createServer } = await import('node:http');
    const { mkdirSync, mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { brotliCompressSync, gzipSync } = await import('node:zlib');
    // A build's shape: index.html and a hashed asset, each with its .br and .gz, and a source map.
    const dist = mkdtempSync(`${tmpdir()}/dist-`);
    mkdirSync(`${dist}/assets`);
    const js = 'index-AbC123.js';
    const write = (file: string, text: string) => {
      writeFileSync(`${dist}/${file}`, text);
      writeFileSync(`${dist}/${file}.br`, brotliCompressSync(text));
      writeFileSync(`${dist}/${file}.gz`, gzipSync(text));
    };
    write('index.html', '<!doctype html><div id="root"></div>');
    write(`assets/${js}`, `console.log(${JSON.stringify('x'.repeat(2000))});`);
    writeFileSync(`${dist}/assets/${js}.map`, '{}');
    const server = createServer(createHandler(t.server.deps, { miniappDist: dist, sourceMaps: false }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const br = await fetch(`${base}/assets/${js}`, { headers: { 'accept-encoding': 'br, gzip' } });
      expect(br.headers.get('content-encoding')).toBe('br');
      expect(br.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(br.headers.get('content-type')).toMatch(/javascript/);
      const gz = await fetch(`${base}/assets/${js}`, { headers: { 'accept-encoding': 'gzip' } });
      expect(gz.headers.get('content-encoding')).toBe('gzip');
      const html = await fetch(`${base}/`, { headers: { 'accept-encoding': 'br' } });
      expect(html.headers.get('cache-control')).toBe('no-cache');
      expect(await html.text()).toContain('<div id="root">');
      expect((await fetch(`${base}/assets/${js}.map`)).status).toBe(404);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
