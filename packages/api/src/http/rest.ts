import type { IncomingMessage, ServerResponse } from 'node:http';
import { callTRPCProcedure, TRPCError } from '@trpc/server';
import { type ApiDeps, createContext } from '../context.ts';
import { appRouter } from '../root.ts';
import { hasBody, isJson, readJsonBody } from './body.ts';
import type { Exchange } from './observe.ts';
import { sendJson, sendRestError } from './respond.ts';
import type { ProcedureRoute } from './routes.ts';

/** A GET's query as the procedure's input: absent when empty; a repeated key becomes a list (and fails the schema). */
function queryInput(search: string): Record<string, string | string[]> | undefined {
  if (!search) return undefined;
  const input: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(search)) {
    const seen = input[key];
    input[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return input;
}

/** A REST operation's input: the query of a GET, the JSON body of the rest (none is an empty input); path parameters over both. */
async function restInput(req: IncomingMessage, res: ServerResponse, search: string, pathParams?: Record<string, string>): Promise<unknown> {
  const withPath = (input: unknown) =>
    pathParams ? { ...(input && typeof input === 'object' && !Array.isArray(input) ? input : {}), ...pathParams } : input;
  if (req.method === 'GET' || req.method === 'DELETE') return withPath(queryInput(search));
  if (!hasBody(req)) return withPath(undefined);
  if (!isJson(req.headers['content-type']))
    throw new TRPCError({ code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send the body as application/json' });
  return withPath(await readJsonBody(req, res));
}

/**
 * The REST adapter: one operation of the route table, run through tRPC's public `callProcedure`
 * with the same context, middlewares, input and output validation as the tRPC transport, answered
 * with the data itself (200, or 201 where it creates) or the one REST error body.
 */
export async function serveRest(
  deps: ApiDeps,
  route: ProcedureRoute,
  status: number,
  req: IncomingMessage,
  res: ServerResponse,
  exchange: Exchange,
  search: string,
  pathParams?: Record<string, string>,
): Promise<void> {
  try {
    const input = await restInput(req, res, search, pathParams);
    const data = await callTRPCProcedure({
      router: appRouter,
      path: route.procedure,
      getRawInput: async () => input,
      ctx: createContext(deps, req, exchange.requestId),
      type: route.type,
      signal: undefined,
      batchIndex: 0,
    });
    sendJson(res, status, data);
  } catch (err) {
    sendRestError(res, exchange, err);
  }
}
