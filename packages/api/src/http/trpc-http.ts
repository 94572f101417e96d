import type { IncomingMessage, ServerResponse } from 'node:http';
import { callTRPCProcedure, TRPCError } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { type ApiDeps, createContext } from '../context.ts';
import { trpcErrorShape, wireError } from '../errors.ts';
import { appRouter } from '../root.ts';
import { isJson, parseJsonText, readJsonBody } from './body.ts';
import { type Exchange, exchangeOf } from './observe.ts';
import { sendJson } from './respond.ts';
import type { RouteTable } from './routes.ts';

export const TRPC_BASE = '/trpc/';
const METHOD_OF = { query: 'GET', mutation: 'POST' } as const;
const VARY = { vary: 'trpc-accept, accept' };

type CallResult = { result: { data: unknown } } | { error: ReturnType<typeof trpcErrorShape> };

/**
 * tRPC's HTTP protocol as `httpLink` and `httpBatchLink` speak it (and any client that follows
 * https://trpc.io/docs/rpc): `GET /trpc/a,b?batch=1&input={"0":…}` for queries, `POST` with a JSON
 * body for mutations, one `{result}` or `{error}` per call, 207 when a batch's statuses differ.
 * Every call runs through tRPC's public `callProcedure` over the route table, exactly as REST does.
 * Streaming (`trpc-accept: application/jsonl`) and non-JSON bodies go to tRPC's own adapter, with
 * the same context and the same error shape.
 */
export function trpcHandler(deps: ApiDeps, routes: RouteTable, maxBatchSize: number) {
  const official = createHTTPHandler({
    router: appRouter,
    basePath: TRPC_BASE,
    maxBatchSize,
    createContext: ({ req, res }) => createContext(deps, req, exchangeOf(res).requestId),
  });

  return {
    async serve(req: IncomingMessage, res: ServerResponse, exchange: Exchange, pathname: string, search: URLSearchParams) {
      const isBatch = search.get('batch') === '1';
      const names = isBatch ? pathname.split(',') : [pathname];
      exchange.route = routes.trpcLabel(names);
      const fail = (err: unknown, path?: string) => {
        const e = wireError(err);
        if (e.status >= 500) exchange.failure = { reason: e.reason, cause: e.cause };
        return { status: e.status, body: { error: trpcErrorShape(e, exchange.requestId, path) } };
      };
      const refuse = (err: unknown) => {
        const { status, body } = fail(err);
        sendJson(res, status, body, VARY);
      };

      if (req.method === 'HEAD') {
        res.writeHead(204, VARY).end();
        return;
      }
      if (req.headers['trpc-accept'] === 'application/jsonl' || (req.method === 'POST' && !isJson(req.headers['content-type']))) {
        official(req, res);
        return;
      }
      if (req.method !== 'GET' && req.method !== 'POST')
        return refuse(new TRPCError({ code: 'METHOD_NOT_SUPPORTED', message: `Unsupported ${req.method}-request` }));
      if (isBatch && names.length > maxBatchSize)
        return refuse(new TRPCError({ code: 'BAD_REQUEST', message: 'Batch call exceeds maximum size' }));
      const calls = names.map((name) => ({ name, route: routes.procedures.get(name) }));
      const types = new Set(calls.flatMap((c) => (c.route ? [c.route.type] : [])));
      if (types.size > 1)
        return refuse(new TRPCError({ code: 'BAD_REQUEST', message: `Cannot mix procedure types in call: ${[...types].join(', ')}` }));

      // Inputs, read once: a failure to read them is each call's failure, as in tRPC.
      let inputs: Record<number, unknown> | TRPCError;
      try {
        const raw =
          req.method === 'GET'
            ? (() => {
                const text = search.get('input');
                return text ? parseJsonText(text) : undefined;
              })()
            : await readJsonBody(req, res);
        if (!isBatch) inputs = { 0: raw };
        else if (raw === undefined) inputs = {};
        else if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
          throw new TRPCError({ code: 'BAD_REQUEST', message: '"input" needs to be an object when doing a batch call' });
        else inputs = raw as Record<number, unknown>;
      } catch (err) {
        inputs = err instanceof TRPCError ? err : new TRPCError({ code: 'PARSE_ERROR', message: 'Input could not be read' });
      }

      const ctx = createContext(deps, req, exchange.requestId);
      const allow: string[] = [];
      const results = await Promise.all(
        calls.map(async ({ name, route }, index): Promise<{ status: number; body: CallResult }> => {
          try {
            if (!route) throw new TRPCError({ code: 'NOT_FOUND', message: `No procedure found on path "${name}"` });
            if (METHOD_OF[route.type] !== req.method) {
              allow.push(METHOD_OF[route.type]);
              throw new TRPCError({
                code: 'METHOD_NOT_SUPPORTED',
                message: `Unsupported ${req.method}-request to ${route.type} procedure at path "${name}"`,
              });
            }
            if (inputs instanceof TRPCError) throw inputs;
            const input = (inputs as Record<number, unknown>)[index];
            const data = await callTRPCProcedure({
              router: appRouter,
              path: name,
              getRawInput: async () => input,
              ctx,
              type: route.type,
              signal: undefined,
              batchIndex: index,
            });
            return { status: 200, body: { result: { data } } };
          } catch (err) {
            return fail(err, name);
          }
        }),
      );
      const statuses = new Set(results.map((r) => r.status));
      const status = statuses.size === 1 ? (results[0]?.status ?? 200) : 207;
      const headers = allow.length ? { ...VARY, allow: allow[0] as string } : VARY;
      sendJson(res, status, isBatch ? results.map((r) => r.body) : results[0]?.body, headers);
    },
  };
}
