import type { ServerResponse } from 'node:http';
import { restErrorBody, wireError } from '../errors.ts';
import type { Exchange } from './observe.ts';

/** A JSON answer (the headers set before it, security and request id, stay). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Any error as the REST body, through the one wire function; a 5xx is noted for the access log. */
export function sendRestError(res: ServerResponse, exchange: Exchange, err: unknown, headers?: Record<string, string>): void {
  const e = wireError(err);
  if (e.status >= 500) exchange.failure = { reason: e.reason, cause: e.cause };
  sendJson(res, e.status, restErrorBody(e, exchange.requestId), headers);
}
