import type { AnyRouter } from '@trpc/server';
import type { ApiMeta } from '../trpc.ts';

/** A procedure as the edge serves it: by tRPC path, and by REST operation when it has one. */
export interface ProcedureRoute {
  /** `billing.subscription.get` */
  procedure: string;
  type: 'query' | 'mutation';
  rest?: {
    method: string;
    /** `/api/v1/billing/subscription` */
    path: string;
    /** The success status: 201 where the operation creates something. */
    status: 200 | 201;
  };
}

export const REST_BASE = '/api/v1';

/** The routes that are not procedures, by the label they carry in metrics and logs. */
export const EDGE_ROUTES = {
  health: 'GET /healthz',
  ready: 'GET /readyz',
  metrics: 'GET /metrics',
  webhook: `POST ${REST_BASE}/billing/webhooks/stripe`,
  telegram: `POST ${REST_BASE}/telegram/webhook`,
  openapi: `GET ${REST_BASE}/openapi.json`,
  docs: `GET ${REST_BASE}/docs`,
  config: 'GET /config.json',
  app: 'GET /(app)',
  unmatched: 'unmatched',
} as const;

/**
 * The one route table, read once from the router: every REST operation and tRPC procedure, and
 * the only source of route labels (a REST template, `trpc <path>`, a batch's size class, or one of
 * the fixed edge routes; anything else is `unmatched`), so metric series stay bounded.
 */
export class RouteTable {
  readonly procedures = new Map<string, ProcedureRoute>();
  /** `GET /api/v1/billing/subscription` → route */
  readonly rest = new Map<string, ProcedureRoute>();
  /** REST paths (any method), to tell 405 from 404. */
  private readonly restPaths = new Set<string>();

  constructor(router: AnyRouter) {
    for (const [procedure, proc] of Object.entries(router._def.procedures as Record<string, { _def: { type: string; meta?: ApiMeta } }>)) {
      const { type, meta } = proc._def;
      if (type !== 'query' && type !== 'mutation') continue;
      const route: ProcedureRoute = { procedure, type };
      if (meta?.openapi) {
        route.rest = { method: meta.openapi.method, path: `${REST_BASE}${meta.openapi.path}`, status: meta.status ?? 200 };
        this.rest.set(`${route.rest.method} ${route.rest.path}`, route);
        this.restPaths.add(route.rest.path);
      }
      this.procedures.set(procedure, route);
    }
  }

  /** Whether some operation lives at this REST path under another method. */
  hasRestPath(pathname: string): boolean {
    return this.restPaths.has(pathname);
  }

  /** The label of a tRPC call: one known procedure by name, an all-known batch by its size class. */
  trpcLabel(names: readonly string[]): string {
    if (!names.every((n) => this.procedures.has(n))) return 'trpc unmatched';
    if (names.length === 1) return `trpc ${names[0]}`;
    return `trpc batch(${names.length <= 3 ? '2-3' : '4+'})`;
  }
}
