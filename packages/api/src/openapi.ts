import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import { REST_BASE, type RouteTable } from './http/routes.ts';
import { appRouter } from './root.ts';

const ERROR_SCHEMA = {
  type: 'object',
  required: ['code', 'message', 'request_id'],
  properties: {
    code: { type: 'string', description: 'Machine-readable error code (e.g. BAD_REQUEST, UNAUTHORIZED, CONFLICT)' },
    reason: { type: 'string', description: 'The domain reason when there is one (e.g. UNKNOWN_PLAN, SUBSCRIPTION_EXISTS)' },
    message: { type: 'string', description: 'A message safe to show a person' },
    request_id: { type: 'string' },
    issues: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
  },
} as const;

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/** Every answer the edge itself can give, whatever the operation. */
const EDGE: Record<string, string> = {
  '400': 'A request the rules refuse, or a body that is not JSON',
  '422': 'A request that fails the schema (`issues` says where), or a body nested too deeply',
  '500': 'An unexpected error (masked; the request id is in the logs)',
  '503': 'The database or the payment provider is unavailable, or Stripe is rate limiting; try again shortly',
};
const WITH_BODY: Record<string, string> = {
  '413': 'Body over 64 kB',
  '415': 'A body that is not application/json',
};
const SIGNED_IN = { '401': 'Missing, invalid or expired access token' };
const CALLS_STRIPE = { '502': 'The payment provider refused or failed the request' };
const BILLING_ACTION = { '429': 'Too many billing actions by this person; `message` says when to come back' };
/** What each operation can answer beyond the above. */
const BY_PATH: Record<string, Record<string, string>> = {
  '/auth/telegram': { '401': 'Init data that is forged, stale or from another bot' },
  '/auth/demo': { '404': 'Not in demo mode' },
  '/billing/checkout': {
    ...CALLS_STRIPE,
    ...BILLING_ACTION,
    '409':
      'A live subscription exists (change plan instead), another checkout is being created, or the Idempotency-Key was used with another body',
  },
  '/billing/checkout/success': { ...CALLS_STRIPE, '404': 'No such checkout session of yours' },
  '/billing/checkout/cancel': { ...CALLS_STRIPE, '404': 'No such checkout session of yours' },
  '/billing/portal': { ...CALLS_STRIPE, ...BILLING_ACTION },
  '/billing/portal/return': { ...CALLS_STRIPE, ...BILLING_ACTION },
  '/users/{user_id}/entitlements': { '401': 'No service token', '403': 'The token may not read', '404': 'No such user' },
  '/billing/stars/invoice': {
    ...BILLING_ACTION,
    '502': 'Telegram refused or failed the request',
    '403': 'Signed in without Telegram: Stars are paid from a Telegram account',
    '409': 'A live subscription exists on either rail',
  },
  '/billing/subscription/change': { ...CALLS_STRIPE, ...BILLING_ACTION, '404': 'No live subscription', '409': 'Already on this plan' },
  '/billing/subscription/cancel': { ...CALLS_STRIPE, ...BILLING_ACTION, '404': 'No live subscription' },
  '/billing/subscription/resume': { ...CALLS_STRIPE, ...BILLING_ACTION, '404': 'No live subscription' },
};

/** The OpenAPI 3 document of the REST API under `/api/v1`. */
export function openApiDocument(baseUrl: string, routes: RouteTable): OpenAPIObject {
  // The success status of each operation, from the route table (201 where it creates).
  const created = new Set([...routes.rest.values()].flatMap((r) => (r.rest?.status === 201 ? [r.rest.path.slice(REST_BASE.length)] : [])));
  const doc = generateOpenApiDocument(appRouter, {
    title: 'Mini App Billing API',
    description:
      'Subscription billing for Telegram Mini Apps. Amounts are integer minor units with a currency; timestamps are ISO 8601 except invoice `created` (Unix seconds).',
    version: '1.0.0',
    baseUrl,
    securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
  });
  doc.components = { ...doc.components, schemas: { ...(doc.components?.schemas ?? {}), Error: ERROR_SCHEMA as never } };
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const op of Object.values(
      item as Record<string, { responses?: Record<string, unknown>; security?: unknown[]; requestBody?: unknown }>,
    )) {
      if (!op?.responses) continue;
      if (created.has(path) && op.responses['200']) {
        op.responses['201'] = op.responses['200'];
        delete op.responses['200'];
      }
      // Every status the operation can really answer, each with the one error body.
      const secured = (op.security?.length ?? 0) > 0;
      const hasBody = op.requestBody !== undefined;
      const statuses: Record<string, string> = {
        ...EDGE,
        ...(hasBody ? WITH_BODY : {}),
        ...(secured ? SIGNED_IN : {}),
        ...(BY_PATH[path] ?? {}),
      };
      for (const [status, description] of Object.entries(statuses)) op.responses[status] = errorResponse(description);
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) >= 400 && !statuses[status])
          op.responses[status] = errorResponse((response as { description?: string }).description ?? 'Error');
      }
    }
  }
  const paths = doc.paths as Record<string, unknown>;
  paths['/billing/webhooks/stripe'] = webhookOperation({
    operationId: 'billing-webhooks-stripe',
    summary: 'Stripe webhook endpoint (raw body, Stripe-Signature header)',
    header: 'stripe-signature',
    ok: { description: 'Received', properties: { received: { type: 'boolean' } } },
    errors: {
      '400': 'Bad signature or payload',
      '413': 'Payload over 1 MB',
      '500': 'Unexpected error; Stripe retries',
      '503': 'The event could not be stored (database unavailable); Stripe retries',
    },
  });
  paths['/telegram/webhook'] = webhookOperation({
    operationId: 'telegram-webhook',
    summary: "The bot's webhook: Telegram's updates (pre-checkout queries, Stars payments and refunds)",
    header: 'x-telegram-bot-api-secret-token',
    ok: { description: 'Taken (or already taken: duplicate)', properties: { ok: { type: 'boolean' }, duplicate: { type: 'boolean' } } },
    errors: {
      '400': 'Not an update (no integer update_id) or not JSON',
      '401': 'Missing or wrong secret token',
      '404': 'No bot: the Stars rail and notices are off',
      '413': 'Body over 64 kB',
      '422': 'Body nested too deeply',
      '500': 'Unexpected error; Telegram retries',
      '503': 'The database is unavailable; Telegram retries',
    },
  });
  return doc;
}

/** A webhook the edge answers itself (not a procedure): its authenticating header, its 200 and its errors. */
function webhookOperation(w: {
  operationId: string;
  summary: string;
  header: string;
  ok: { description: string; properties: Record<string, unknown> };
  errors: Record<string, string>;
}) {
  return {
    post: {
      operationId: w.operationId,
      summary: w.summary,
      tags: ['webhooks'],
      parameters: [{ name: w.header, in: 'header', required: true, schema: { type: 'string' } }],
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
      responses: {
        '200': {
          description: w.ok.description,
          content: { 'application/json': { schema: { type: 'object', properties: w.ok.properties } } },
        },
        ...Object.fromEntries(Object.entries(w.errors).map(([status, description]) => [status, errorResponse(description)])),
      },
    },
  };
}
