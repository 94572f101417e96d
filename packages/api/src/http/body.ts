import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import express from 'express';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './json-depth.ts';

/** The largest JSON body a procedure takes. */
export const JSON_LIMIT = 64 * 1024;

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** body-parser's refusals as transport errors (size, nesting, syntax, charset): always a 4xx. */
function bodyError(err: unknown): TRPCError {
  const e = err as { status?: number; type?: string };
  if (e.status === 413) return new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: 'Request body too large' });
  if (e.type === 'entity.too.deep')
    return new TRPCError({ code: 'UNPROCESSABLE_CONTENT', message: `Request body nests deeper than ${MAX_JSON_DEPTH} levels` });
  if (e.type === 'entity.parse.failed') return new TRPCError({ code: 'PARSE_ERROR', message: 'Request body is not valid JSON' });
  if (e.status === 415) return new TRPCError({ code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send the body as UTF-8 JSON' });
  return new TRPCError({ code: 'BAD_REQUEST', message: 'Bad request' });
}

/** Runs a body-parser middleware on a plain request, resolving with what it parsed. */
function parseWith(parser: Middleware, req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  return new Promise((resolve, reject) =>
    parser(req, res, (err) => (err ? reject(bodyError(err)) : resolve((req as IncomingMessage & { body?: unknown }).body))),
  );
}

/** Whether the request carries a body at all (a POST with none is an empty input). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export const isJson = (type: string | undefined) => !!type && /^application\/json\s*(;|$)/i.test(type);

/** Bounded before parsing: 64 kB, nesting at most MAX_JSON_DEPTH deep, UTF-8. */
const jsonParser = express.json({
  limit: JSON_LIMIT,
  type: () => true,
  strict: false,
  verify: (_req, _res, buf) => {
    if (jsonDepthExceeds(buf)) throw Object.assign(new Error('too deep'), { status: 422, type: 'entity.too.deep' });
  },
}) as Middleware;

/** The JSON body, or undefined when there is none. Refusals are TRPCErrors (413, 422, 400, 415). */
export function readJsonBody(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  return hasBody(req) ? parseWith(jsonParser, req, res) : Promise.resolve(undefined);
}

const rawParsers = new Map<number, Middleware>();

/** The raw bytes of a body (the webhook's, whose signature covers them), refused over `limit`. */
export function readRawBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Buffer> {
  let parser = rawParsers.get(limit);
  if (!parser) {
    parser = express.raw({ type: () => true, limit }) as Middleware;
    rawParsers.set(limit, parser);
  }
  return parseWith(parser, req, res).then((body) => (Buffer.isBuffer(body) ? body : Buffer.alloc(0)));
}

/** JSON from a query string parameter (tRPC's GET input), with the same depth bound as bodies. */
export function parseJsonText(text: string): unknown {
  if (jsonDepthExceeds(Buffer.from(text)))
    throw new TRPCError({ code: 'UNPROCESSABLE_CONTENT', message: `Input nests deeper than ${MAX_JSON_DEPTH} levels` });
  try {
    return JSON.parse(text);
  } catch {
    throw new TRPCError({ code: 'PARSE_ERROR', message: 'Input is not valid JSON' });
  }
}
