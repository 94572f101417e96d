import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../../src/root.ts';
import { call, startTestServer, type TestServer } from '../helpers.ts';
import { figure } from './figures.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ BILLING_ACTIONS_PER_MINUTE: '10000' });
});
afterAll(() => t.close());

/** Every tRPC procedure of the router: its dotted path and whether it is a query. */
function procedures(): Array<{ path: string; query: boolean }> {
  const out: Array<{ path: string; query: boolean }> = [];
  const walk = (record: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(record)) {
      const def = (value as { _def?: { type?: string; record?: Record<string, unknown> } })._def;
      if (def?.type) out.push({ path: `${prefix}${key}`, query: def.type === 'query' });
      else if (value && typeof value === 'object') walk(value as Record<string, unknown>, `${prefix}${key}.`);
    }
  };
  walk(appRouter._def.record as Record<string, unknown>, '');
  return out;
}

const NUL = 'a\u0000b\u0007c\u001b[31m\u2028\u202e';
const deep = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const wide = () => JSON.stringify(Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i])));
const nulObject = () => JSON.stringify({ [NUL]: NUL, plan_id: NUL, session_id: NUL, return_url: NUL, init_data: NUL, limit: NUL });
const huge = () => JSON.stringify({ plan_id: 'x'.repeat(3_000_000) });

/** Deep, wide, NUL-laden and huge: raw JSON texts, each sent as it is. */
const BODIES: Array<[string, () => string]> = [
  ['deep object', () => deep(4_000)],
  ['deep array', () => deepArray(4_000)],
  ['wide object', wide],
  ['NUL-laden', nulObject],
  ['huge', huge],
  ['NUL string', () => JSON.stringify(NUL)],
];

describe('fuzzing every REST route and tRPC procedure', () => {
  it('deep, wide, NUL-laden and huge inputs never get a 5xx, batched or not', async () => {
    const token = (await call('POST', `${t.api}/auth/demo`)).body.access_token as string;
    const auth = { authorization: `Bearer ${token}` };
    const doc = (await call('GET', `${t.api}/openapi.json`)).body as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.entries(doc.paths).flatMap(([p, methods]) => Object.keys(methods).map((m) => [m.toUpperCase(), p] as const));
    expect(operations.length).toBeGreaterThan(8);

    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let sent = 0;
    const check = async (label: string, res: Response | Promise<Response>) => {
      const r = await res;
      sent += 1;
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      await r.arrayBuffer().catch(() => undefined);
      if (r.status >= 500) failures.push(`${label} → ${r.status}`);
    };
    const fill = (p: string) => p.replace(/\{[^}]+\}/g, encodeURIComponent(NUL));

    for (const [method, p] of operations) {
      const url = `${t.api}${fill(p)}`;
      if (method === 'GET' || method === 'DELETE') {
        for (const [name, make] of BODIES.slice(3, 6)) {
          const q = make().slice(0, 6_000);
          await check(
            `${method} ${p} ?${name}`,
            fetch(`${url}?limit=${encodeURIComponent(q)}&x=${encodeURIComponent(q)}`, { method, headers: auth }),
          );
        }
        await check(`${method} ${p} ?deep`, fetch(`${url}?${'a[b]'.repeat(2_000)}=1`, { method, headers: auth }));
        continue;
      }
      for (const [name, make] of BODIES) {
        await check(
          `${method} ${p} ${name}`,
          fetch(url, { method, headers: { ...auth, 'content-type': 'application/json' }, body: make() }),
        );
      }
    }

    for (const { path, query } of procedures()) {
      for (const [name, make] of BODIES) {
        const body = make();
        if (query) {
          const input = body.length > 8_000 ? body.slice(0, 8_000) : body;
          await check(`trpc ${path} ${name}`, fetch(`${t.base}/trpc/${path}?input=${encodeURIComponent(input)}`, { headers: auth }));
          await check(
            `trpc ${path},${path} batched ${name}`,
            fetch(`${t.base}/trpc/${path},${path}?batch=1&input=${encodeURIComponent(`{"0":${input},"1":${input}}`)}`, { headers: auth }),
          );
        } else {
          const headers = { ...auth, 'content-type': 'application/json' };
          await check(`trpc ${path} ${name}`, fetch(`${t.base}/trpc/${path}`, { method: 'POST', headers, body }));
          await check(
            `trpc ${path},${path} batched ${name}`,
            fetch(`${t.base}/trpc/${path},${path}?batch=1`, { method: 'POST', headers, body: `{"0":${body},"1":${body}}` }),
          );
        }
      }
    }
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(100);
    // The inputs were refused for what they are: too large, too deep or invalid, not passed through.
    expect(statuses.get(413) ?? 0, JSON.stringify([...statuses])).toBeGreaterThan(0);
    expect(statuses.get(422) ?? 0, JSON.stringify([...statuses])).toBeGreaterThan(0);
    figure('fuzz', {
      requests: sent,
      server_errors_5xx: failures.length,
      statuses: [...statuses.entries()]
        .sort()
        .map(([s, c]) => `${s}x${c}`)
        .join('/'),
    });
    // Still serving.
    expect((await call('GET', `${t.api}/billing/subscription`, { token })).status).toBe(200);
  });
});
