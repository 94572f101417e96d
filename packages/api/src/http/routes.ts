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
  /** Operations with path parameters (`/users/{user_id}/…`), matched by pattern; labelled by template. */
  private readonly templates: Array<{ method: string; pattern: RegExp; names: string[]; key: string; route: ProcedureRoute }> = [];

  constructor(router: AnyRouter) {
    for (const [procedure, proc] of Object.entries(router._def.procedures as Record<string, { _def: { type: string; meta?: ApiMeta } }>)) {
      const { type, meta } = proc._def;
      if (type !== 'query' && type !== 'mutation') continue;
      const route: ProcedureRoute = { procedure, type };
      if (meta?.openapi) {
        route.rest = { method: meta.openapi.method, path: `${REST_BASE}${meta.openapi.path}`, status: meta.status ?? 200 };
        const key = `${route.rest.method} ${route.rest.path}`;
        const names = [...route.rest.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1] as string);
        if (names.length === 0) {
          this.rest.set(key, route);
          this.restPaths.add(route.rest.path);
        } else {
          const pattern = new RegExp(`^${route.rest.path.replace(/\{[a-z_]+\}/g, '([^/]{1,200})')}$`);
          this.templates.push({ method: route.rest.method, pattern, names, key, route });
        }
      }
      this.procedures.set(procedure, route);
    }
  }

  /** Whether some operation lives at this REST path under another method. */
  hasRestPath(pathname: string): boolean {
    return this.restPaths.has(pathname) || this.templates.some((t) => t.pattern.test(pathname));
  }

  /** The operation a templated path names, its label (the template) and its path parameters. */
  matchTemplate(method: string, pathname: string): { key: string; route: ProcedureRoute; params: Record<string, string> } | undefined {
    for (const t of this.templates) {
      if (t.method !== method) continue;
      const m = t.pattern.exec(pathname);
      if (!m) continue;
      let params: Record<string, string>;
      try {
        params = Object.fromEntries(t.names.map((name, i) => [name, decodeURIComponent(m[i + 1] as string)]));
      } catch {
        continue;
      }
      return { key: t.key, route: t.route, params };
    }
    return undefined;
  }

  /** The label of a tRPC call: one known procedure by name, an all-known batch by its size class. */
  trpcLabel(names: readonly string[]): string {
    if (!names.every((n) => this.procedures.has(n))) return 'trpc unmatched';
    if (names.length === 1) return `trpc ${names[0]}`;
    return `trpc batch(${names.length <= 3 ? '2-3' : '4+'})`;
  }
}
