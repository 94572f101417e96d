import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import type { EmulatorContext, Fault, RequestRecord } from './http/context.ts';
import { controlRouter } from './http/control.ts';
import { hostedRouter } from './http/hosted.ts';
import { parseBody, v1Router } from './http/v1.ts';
import { API_VERSION } from './objects.ts';
import { linksOf } from './payments.ts';
import type { Realism } from './realism.ts';
import { DEFAULT_CATALOG, newId, type SeedPrice, type StateSnapshot, StripeState } from './state.ts';
import { isServedVersion, SERVED_VERSIONS } from './versions.ts';
import { DEFAULT_WEBHOOK_OPTIONS, WebhookDispatcher, type WebhookOptions, type WebhookTarget } from './webhooks.ts';

export type { Fault, RequestRecord } from './http/context.ts';

export interface EmulatorOptions {
  /** Port to listen on; 0 picks a free one. Default 12111. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Base URL used in hosted-page links when the emulator sits behind another address. */
  publicUrl?: string;
  /** A webhook endpoint configured at start (like one set up in the Dashboard). */
  webhook?: { url: string; secret: string; events?: string[] };
  webhookOptions?: Partial<WebhookOptions>;
  /** The seeded product catalog; default premium/vip/enterprise monthly. */
  catalog?: SeedPrice[];
  /** Called with one line per API request (method, path, status); off by default. */
  log?: (line: string) => void;
  /** Stripe's latency, rate limit and unordered webhooks (`realism.ts`); all off when unset. */
  realism?: Realism;
  /**
   * A JSON file that keeps the account across restarts: loaded at start when present, written
   * (atomically, at most once a second) after changes and on close.
   */
  stateFile?: string;
}

export interface RunningEmulator {
  url: string;
  port: number;
  state: StripeState;
  webhooks: WebhookDispatcher;
  /** Every `/v1` request received, oldest first. */
  requests: RequestRecord[];
  /** Resolves when every webhook delivery has succeeded or given up. */
  webhooksIdle(): Promise<void>;
  /** Points the configured webhook endpoint somewhere else (e.g. once the receiving server listens). */
  setWebhook(webhook: { url: string; secret: string; events?: string[] }): void;
  close(): Promise<void>;
}

/** Starts a stateful Stripe API on loopback. `close()` stops the server and every pending delivery. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? '127.0.0.1';
  let baseUrl = options.publicUrl ?? '';
  const realism = options.realism ?? {};
  const webhookOptions = { ...DEFAULT_WEBHOOK_OPTIONS, ...(realism.webhooks ?? {}), ...options.webhookOptions };
  const dispatcher = new WebhookDispatcher(webhookOptions);
  let configured: WebhookTarget[] = options.webhook
    ? [
        {
          id: 'we_configured',
          url: options.webhook.url,
          secret: options.webhook.secret,
          enabledEvents: options.webhook.events ?? ['*'],
          apiVersion: API_VERSION,
        },
      ]
    : [];
  let targets: WebhookTarget[] = configured;
  let persist: () => void = () => undefined;
  let flushState: () => void = () => undefined;
  const state: StripeState = new StripeState(
    () => baseUrl,
    (event) => {
      dispatcher.dispatch(event, targets);
      persist();
    },
    options.catalog ?? DEFAULT_CATALOG,
  );
  dispatcher.links = linksOf(state);
  if (options.stateFile) {
    const file = options.stateFile;
    if (existsSync(file)) state.restore(JSON.parse(readFileSync(file, 'utf8')) as StateSnapshot);
    let timer: NodeJS.Timeout | undefined;
    const write = () => {
      timer = undefined;
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(`${file}.tmp`, JSON.stringify(state.snapshot()));
      renameSync(`${file}.tmp`, file);
    };
    persist = () => {
      timer ??= setTimeout(write, 1000);
      timer.unref();
    };
    flushState = () => {
      if (timer) clearTimeout(timer);
      write();
    };
  }
  const refreshTargets = () => {
    targets = [
      ...configured,
      ...[...state.webhookEndpoints.values()]
        .filter((e) => e.status === 'enabled' && e.secret)
        .map((e) => ({
          id: e.id,
          url: e.url,
          secret: e.secret as string,
          enabledEvents: e.enabled_events,
          apiVersion: e.api_version && isServedVersion(e.api_version) ? e.api_version : API_VERSION,
        })),
    ];
  };
  const ctx: EmulatorContext = {
    state,
    dispatcher,
    requests: [] as RequestRecord[],
    faults: [] as Fault[],
    idempotency: new Map(),
    refreshTargets,
    log: options.log,
  };
  const { requests } = ctx;

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', (s: string) => parseBody(s));
  app.set('etag', false);
  app.use((_req, res, next) => {
    res.locals.requestId = newId('req');
    res.setHeader('Request-Id', res.locals.requestId as string);
    next();
  });
  app.use('/v1', v1Router(ctx, realism));
  app.use(hostedRouter(ctx));
  app.use('/_emulator', controlRouter(ctx));
  app.get('/', (_req, res) => {
    res.json({ emulator: 'stripe', api_version: API_VERSION, versions: SERVED_VERSIONS, url: baseUrl });
  });

  const server = await new Promise<import('node:http').Server>((resolve, reject) => {
    const s = app.listen(options.port ?? 12111, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  server.keepAliveTimeout = 65_000;
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  if (!baseUrl) baseUrl = url;

  return {
    url,
    port,
    state,
    webhooks: dispatcher,
    requests,
    webhooksIdle: () => dispatcher.idle(),
    setWebhook: (webhook) => {
      configured = [
        { id: 'we_configured', url: webhook.url, secret: webhook.secret, enabledEvents: webhook.events ?? ['*'], apiVersion: API_VERSION },
      ];
      refreshTargets();
    },
    close: () =>
      new Promise<void>((resolve) => {
        flushState();
        dispatcher.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
