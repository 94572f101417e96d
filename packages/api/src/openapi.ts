import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import { appRouter } from './root.ts';

/** Paths whose success answer is 201 Created on REST. */
export const CREATED_PATHS = new Set(['/billing/checkout', '/billing/portal']);

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

/** The OpenAPI 3 document of the REST API under `/api/v1`. */
export function openApiDocument(baseUrl: string): OpenAPIObject {
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
    for (const op of Object.values(item as Record<string, { responses?: Record<string, unknown> }>)) {
      if (!op?.responses) continue;
      if (CREATED_PATHS.has(path) && op.responses['200']) {
        op.responses['201'] = op.responses['200'];
        delete op.responses['200'];
      }
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) >= 400) {
          (response as { content?: unknown }).content = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
        }
      }
    }
  }
  (doc.paths as Record<string, unknown>)['/billing/webhooks/stripe'] = {
    post: {
      operationId: 'billing-webhooks-stripe',
      summary: 'Stripe webhook endpoint (raw body, Stripe-Signature header)',
      tags: ['webhooks'],
      parameters: [{ name: 'stripe-signature', in: 'header', required: true, schema: { type: 'string' } }],
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
      responses: {
        '200': {
          description: 'Received',
          content: { 'application/json': { schema: { type: 'object', properties: { received: { type: 'boolean' } } } } },
        },
        '400': {
          description: 'Bad signature or payload',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
        '413': { description: 'Payload over 1 MB', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        '500': {
          description: 'Processing failed; Stripe retries',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    },
  };
  return doc;
}
