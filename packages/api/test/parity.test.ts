import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../src/root.ts';
import { call, startTestServer, type TestServer } from './helpers.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ BILLING_ACTIONS_PER_MINUTE: '10000' });
});
afterAll(() => t.close());

interface Procedure {
  path: string;
  query: boolean;
  hasInput: boolean;
  rest: { method: string; path: string; protect?: boolean } | undefined;
}

/** `z.void()` (zod 3 or 4): a procedure that takes no input. */
const isVoid = (schema: unknown) => {
  const def = (schema as { _def?: { typeName?: string; type?: string } })._def;
  return def?.typeName === 'ZodVoid' || def?.type === 'void';
};

function procedures(): Procedure[] {
  const out: Procedure[] = [];
  const walk = (record: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(record)) {
      const def = (value as { _def?: { type?: string; inputs?: unknown[]; meta?: { openapi?: Procedure['rest'] } } })._def;
      if (def?.type)
        out.push({
          path: `${prefix}${key}`,
          query: def.type === 'query',
          hasInput: (def.inputs ?? []).some((i) => !isVoid(i)),
          rest: def.meta?.openapi,
        });
      else if (value && typeof value === 'object') walk(value as Record<string, unknown>, `${prefix}${key}.`);
    }
  };
  walk(appRouter._def.record as Record<string, unknown>, '');
  return out;
}

/** Inputs that every procedure answers without changing anything: none, empty, wrong, unknown plan. */
const INPUTS: unknown[] = [undefined, {}, { plan_id: 'no_such_plan' }, { session_id: 'cs_test_none' }, { limit: 0 }, 'text'];

type Answer = { status: number; body: unknown };

const restCall = async (p: Procedure, input: unknown, token: string): Promise<Answer> => {
  const rest = p.rest as NonNullable<Procedure['rest']>;
  if (rest.method === 'GET') {
    const qs = input && typeof input === 'object' ? `?${new URLSearchParams(input as Record<string, string>)}` : '';
    return call('GET', `${t.api}${rest.path}${qs}`, { token });
  }
  return call(rest.method, `${t.api}${rest.path}`, { token, body: input === undefined ? undefined : JSON.stringify(input) });
};

/** The same call through tRPC, unbatched and in a batch of two, as @trpc/client would send them. */
const trpcCalls = async (p: Procedure, input: unknown, token: string): Promise<Answer[]> => {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const enc = (v: unknown) => encodeURIComponent(JSON.stringify(v));
  const one = p.query
    ? await fetch(`${t.base}/trpc/${p.path}${input === undefined ? '' : `?input=${enc(input)}`}`, { headers })
    : await fetch(`${t.base}/trpc/${p.path}`, { method: 'POST', headers, body: input === undefined ? undefined : JSON.stringify(input) });
  const batchInput = input === undefined ? {} : { 0: input, 1: input };
  const batch = p.query
    ? await fetch(`${t.base}/trpc/${p.path},${p.path}?batch=1&input=${enc(batchInput)}`, { headers })
    : await fetch(`${t.base}/trpc/${p.path},${p.path}?batch=1`, { method: 'POST', headers, body: JSON.stringify(batchInput) });
  const oneBody = (await one.json()) as { result?: { data: unknown }; error?: { data: { code: string } } };
  const batchBody = (await batch.json()) as Array<{ result?: { data: unknown }; error?: { data: { code: string; httpStatus: number } } }>;
  const entry = batchBody[0];
  return [
    { status: one.status, body: oneBody.result ? oneBody.result.data : { code: oneBody.error?.data.code } },
    { status: entry?.error?.data.httpStatus ?? 200, body: entry?.result ? entry.result.data : { code: entry?.error?.data.code } },
  ];
};

/**
 * What must agree across the transports: an error's status and code; a success's data (its shape for
 * a mutation, whose every call makes something new, e.g. a portal session's URL). REST answers a
 * creation 201 where the tRPC protocol always says 200: both are "success".
 */
const comparable = (a: Answer, mutation: boolean) => {
  if (a.status >= 400) return { status: a.status, code: (a.body as { code?: string }).code };
  const body = a.body as Record<string, unknown> | null;
  return { status: 'success', body: mutation && body && typeof body === 'object' ? Object.keys(body).sort() : a.body };
};

describe('REST and tRPC parity', () => {
  it('every procedure answers the same status and body through REST, tRPC and a tRPC batch', async () => {
    const token = (await call('POST', `${t.api}/auth/demo`)).body.access_token as string;
    const mismatches: string[] = [];
    let compared = 0;
    for (const p of procedures()) {
      if (!p.rest || p.path === 'auth.demo' || p.path === 'auth.telegram') continue;
      // A query without input is compared as it is called, with none: REST has no way to send a
      // body to it, and ignores query parameters it does not define.
      const voidQuery = p.query && !p.hasInput;
      for (const input of voidQuery ? [undefined] : INPUTS) {
        if (p.query && typeof input === 'string') continue;
        const rest = comparable(await restCall(p, input, token), !p.query);
        const [one, batched] = (await trpcCalls(p, input, token)).map((a) => comparable(a, !p.query));
        compared += 1;
        if (JSON.stringify(rest) !== JSON.stringify(one) || JSON.stringify(rest) !== JSON.stringify(batched)) {
          mismatches.push(
            `${p.path} ${JSON.stringify(input)}: rest ${JSON.stringify(rest)} trpc ${JSON.stringify(one)} batch ${JSON.stringify(batched)}`,
          );
        }
      }
    }
    expect(compared).toBeGreaterThan(30);
    expect(mismatches).toEqual([]);
  });
});
