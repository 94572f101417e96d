import { Validator } from '@seriousme/openapi-schema-validator';
import { createTRPCClient, httpBatchLink, httpBatchStreamLink, httpLink, TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../src/root.ts';
import { call, initDataFor, payOnHostedPage, startTestServer, type TestServer } from './helpers.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

describe('OpenAPI document', () => {
  it('is a valid OpenAPI 3 document listing every REST path, with the bearer scheme on protected ones', async () => {
    const res = await call('GET', `${t.api}/openapi.json`);
    expect(res.status).toBe(200);
    const validator = new Validator();
    const result = await validator.validate(res.body);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const doc = res.body;
    for (const path of [
      '/auth/telegram',
      '/auth/demo',
      '/billing/plans',
      '/billing/subscription',
      '/billing/checkout',
      '/billing/checkout/success',
      '/billing/checkout/cancel',
      '/billing/portal',
      '/billing/invoices',
      '/billing/webhooks/stripe',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/billing/subscription'].get.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/billing/plans'].get.security).toBeUndefined();
    expect(doc.paths['/billing/checkout'].post.responses['201']).toBeDefined();
  });

  it('a client generated from the document reaches every operation it lists', async () => {
    const doc = (await call('GET', `${t.api}/openapi.json`)).body as { paths: Record<string, Record<string, unknown>> };
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) {
        const res = await fetch(`${t.api}${path}`, {
          method: method.toUpperCase(),
          headers: { 'content-type': 'application/json' },
          ...(method === 'get' ? {} : { body: '{}' }),
        });
        expect([404, 405], `${method} ${path}`).not.toContain(res.status);
      }
    }
  });

  it('lists every status an operation answers, each with the error body; the statuses the suite observes are among them', async () => {
    const doc = (await call('GET', `${t.api}/openapi.json`)).body as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: unknown }>; security?: unknown[] }>>;
    };
    const statuses = (path: string, method: string) => Object.keys(doc.paths[path]?.[method]?.responses ?? {}).sort();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        // The webhook route is outside the procedures: it answers 200, 400, 413, 500 and 503 only.
        const edge = path === '/billing/webhooks/stripe' ? ['400', '413', '500', '503'] : ['400', '422', '500', '503'];
        for (const s of edge) expect(statuses(path, method), `${method} ${path}`).toContain(s);
        if ((op.security?.length ?? 0) > 0) expect(statuses(path, method), `${method} ${path}`).toContain('401');
        for (const [s, r] of Object.entries(op.responses))
          if (Number(s) >= 400)
            expect(r.content, `${method} ${path} ${s}`).toEqual({ 'application/json': { schema: { $ref: '#/components/schemas/Error' } } });
      }
    }
    // Answers the suite provokes elsewhere (limits, edge, rest, reliability tests), by operation.
    const observed: Array<[string, string, string]> = [
      ['/billing/checkout', 'post', '201'],
      ['/billing/checkout', 'post', '409'],
      ['/billing/checkout', 'post', '413'],
      ['/billing/checkout', 'post', '415'],
      ['/billing/checkout', 'post', '422'],
      ['/billing/checkout', 'post', '429'],
      ['/billing/portal', 'post', '429'],
      ['/billing/portal', 'post', '502'],
      ['/billing/portal', 'post', '503'],
      ['/billing/subscription', 'get', '401'],
      ['/billing/subscription', 'get', '503'],
      ['/billing/subscription/change', 'post', '404'],
      ['/billing/checkout/success', 'post', '404'],
      ['/auth/telegram', 'post', '401'],
      ['/billing/webhooks/stripe', 'post', '413'],
    ];
    for (const [path, method, status] of observed) expect(statuses(path, method), `${method} ${path}`).toContain(status);
  });

  it('serves a page to read and try the API', async () => {
    const res = await fetch(`${t.api}/docs/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('swagger-ui');
  });
});

describe('typed tRPC client', () => {
  const client = (token?: string) =>
    createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${t.base}/trpc`, headers: () => (token ? { authorization: `Bearer ${token}` } : {}) })],
    });

  it('does the same walk as REST against the same server', async () => {
    const anon = client();
    const login = await anon.auth.telegram.mutate({ init_data: initDataFor({ id: 99_000_111, first_name: 'Rpc' }) });
    const api = client(login.access_token);
    expect((await api.billing.subscription.get.query()).tier).toBe('free');
    expect((await api.billing.plans.list.query()).length).toBe(5);
    const checkout = await api.billing.checkout.create.mutate({ plan_id: 'premium_monthly' });
    await payOnHostedPage(t, checkout.url);
    const confirmed = await api.billing.checkout.confirm.mutate({ session_id: checkout.session_id });
    expect(confirmed.subscription).toMatchObject({ tier: 'premium_monthly', status: 'active' });
    expect((await api.billing.invoices.list.query({ limit: 5 }))[0]?.status).toBe('paid');
    expect((await api.billing.portal.create.mutate({})).url).toContain('/portal/');
  });

  it('every link tRPC ships reads the same page load: batched, streamed (served by the official adapter) and one by one', async () => {
    const login = await client().auth.telegram.mutate({ init_data: initDataFor({ id: 99_000_112, first_name: 'Links' }) });
    const headers = () => ({ authorization: `Bearer ${login.access_token}` });
    const url = `${t.base}/trpc`;
    const pageLoad = (api: ReturnType<typeof client>) =>
      Promise.all([api.billing.subscription.get.query(), api.billing.plans.list.query(), api.billing.invoices.list.query({ limit: 20 })]);
    const one = await pageLoad(client(login.access_token));
    const batched = await pageLoad(createTRPCClient<AppRouter>({ links: [httpBatchLink({ url, headers })] }));
    const streamed = await pageLoad(createTRPCClient<AppRouter>({ links: [httpBatchStreamLink({ url, headers })] }));
    expect(one[0].tier).toBe('free');
    expect(one[1]).toHaveLength(5);
    expect(batched).toEqual(one);
    expect(streamed).toEqual(one);
    // A failure inside a streamed batch has the same shape as anywhere else.
    const denied = await createTRPCClient<AppRouter>({
      links: [httpBatchStreamLink({ url, headers: () => ({ authorization: 'Bearer x' }) })],
    })
      .billing.subscription.get.query()
      .catch((e: unknown) => e);
    expect((denied as TRPCClientError<AppRouter>).data).toMatchObject({ code: 'UNAUTHORIZED', request_id: expect.any(String) });
  });

  it('errors carry the code and reason a caller branches on', async () => {
    const err = await client('bad')
      .billing.subscription.get.query()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TRPCClientError);
    expect((err as TRPCClientError<AppRouter>).data).toMatchObject({
      code: 'UNAUTHORIZED',
      httpStatus: 401,
      request_id: expect.any(String),
    });
    const login = await client().auth.demo.mutate();
    const unknown = await client(login.access_token)
      .billing.checkout.create.mutate({ plan_id: 'gold' })
      .catch((e: unknown) => e);
    expect((unknown as TRPCClientError<AppRouter>).data).toMatchObject({ code: 'BAD_REQUEST', reason: 'UNKNOWN_PLAN', httpStatus: 400 });
    const invalid = await client(login.access_token)
      .billing.checkout.create.mutate({} as never)
      .catch((e: unknown) => e);
    expect((invalid as TRPCClientError<AppRouter>).data).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', reason: 'VALIDATION_FAILED' });
  });
});
