import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WireError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { EDGE_ROUTES } from './routes.ts';

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

/** One request as the edge sees it: its id, its route label, and what went wrong when it did. */
export interface Exchange {
  requestId: string;
  /** A label from the route table only (never a raw URL). */
  route: string;
  /** Set by whoever answers with a 5xx: the reason and cause for the log line. */
  failure?: Pick<WireError, 'reason' | 'cause'>;
}

/** The caller's X-Request-Id when it is well-formed, else a new one. */
export function requestIdOf(req: { headers: Record<string, string | string[] | undefined> }): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

const exchanges = new WeakMap<ServerResponse, Exchange>();

/** The exchange `observe` opened for this response (for handlers that are handed only req/res). */
export function exchangeOf(res: ServerResponse): Exchange {
  const exchange = exchanges.get(res);
  if (!exchange) throw new Error('observe() did not run for this response');
  return exchange;
}

/**
 * The one observation path, for every request whatever answers it: a request id (echoed in
 * `X-Request-Id`), the duration histogram by method, route label and status, and the access log
 * (5xx at error level with the request id, the reason and the cause's name; the rest at debug).
 */
export function observe(metrics: Metrics, logger: Logger, req: IncomingMessage, res: ServerResponse): Exchange {
  const exchange: Exchange = { requestId: requestIdOf(req), route: EDGE_ROUTES.unmatched };
  exchanges.set(res, exchange);
  res.setHeader('X-Request-Id', exchange.requestId);
  const started = process.hrtime.bigint();
  res.once('finish', () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const method = req.method ?? 'GET';
    const status = res.statusCode;
    metrics.httpDuration.observe({ method, route: exchange.route, status: String(status) }, seconds);
    const line = { request_id: exchange.requestId, method, route: exchange.route, status, ms: Math.round(seconds * 1000) };
    if (status >= 500) logger.error({ ...line, reason: exchange.failure?.reason, err: exchange.failure?.cause }, 'request failed');
    else if (logger.isLevelEnabled('debug')) logger.debug(line, 'request');
  });
  return exchange;
}
