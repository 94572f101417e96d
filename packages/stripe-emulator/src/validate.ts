import { readFileSync } from 'node:fs';
import { StripeApiError } from './errors.ts';
import type { Params } from './params.ts';
import { removedSince2023, type ServedVersion, type Shape, shapeOf } from './versions.ts';

/**
 * Fail closed, the way Stripe does: every request's parameters are checked against the schema of
 * its operation (`spec/params.json`, read from the pinned SDK's own type declarations by
 * `scripts/sdk-params.ts`), and every `expand[]` path against what Stripe's OpenAPI document marks
 * expandable (`spec/stripe-openapi-subset.json`, `x-expandableFields`).
 */

export type ParamSchema = {
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object';
  enum?: string[];
  format?: 'decimal';
  items?: ParamSchema;
  properties?: Record<string, ParamSchema>;
  required?: string[];
  additionalProperties?: ParamSchema;
  anyOf?: ParamSchema[];
  emptyable?: true;
  of?: ParamSchema;
};

const specFile = (name: string) => new URL(`../spec/${name}`, import.meta.url);

const operations = (JSON.parse(readFileSync(specFile('params.json'), 'utf8')) as { operations: Record<string, ParamSchema> }).operations;

const shape = (method: string, path: string) => `${method} ${path.replace(/:\w+/g, ':')}`;
const byShape = new Map(Object.entries(operations).map(([key, schema]) => [shape(...(key.split(' ') as [string, string])), schema]));

/** The parameter schema of `METHOD /v1/path/:id` (any names for the path parameters), or undefined. */
export function operationSchema(method: string, path: string): ParamSchema | undefined {
  return byShape.get(shape(method, path));
}

/** How many leaf parameters a schema validates (for the figures in the docs). */
export function countParams(schema: ParamSchema): number {
  if (schema.emptyable && schema.of) return countParams(schema.of);
  if (schema.anyOf) return Math.max(...schema.anyOf.map(countParams));
  if (schema.type === 'array' && schema.items) return countParams(schema.items);
  if (schema.properties) return Object.values(schema.properties).reduce((n, s) => n + countParams(s), 0);
  return 1;
}

const bad = (message: string, param: string, code?: string) =>
  new StripeApiError(400, 'invalid_request_error', message, code ? { code, param } : { param });

const child = (parent: string, key: string | number) => (parent ? `${parent}[${key}]` : String(key));

function oneOf(values: string[]): string {
  if (values.length <= 1) return values.join('');
  return `${values.slice(0, -1).join(', ')}${values.length > 2 ? ',' : ''} or ${values.at(-1)}`;
}

function kind(value: unknown): 'string' | 'array' | 'object' | 'other' {
  if (typeof value === 'string') return 'string';
  if (Array.isArray(value)) return 'array';
  if (value !== null && typeof value === 'object') return 'object';
  return 'other';
}

/** qs turns `a[0]=x&a[1]=y` into an array, but an object keyed by index past its array limit. */
function asArray(value: unknown): unknown[] | null {
  if (Array.isArray(value)) return value;
  if (kind(value) === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.every(([k]) => /^\d+$/.test(k))) return entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, v]) => v);
  }
  return null;
}

/** Throws Stripe's 400 for the first parameter that does not fit `schema`; `param` names it as Stripe does. */
export function check(schema: ParamSchema, value: unknown, param: string): void {
  if (schema.emptyable && schema.of) {
    if (value !== '') check(schema.of, value, param);
    return;
  }
  if (schema.anyOf) {
    const errors: StripeApiError[] = [];
    for (const branch of schema.anyOf) {
      try {
        check(branch, value, param);
        return;
      } catch (err) {
        errors.push(err as StripeApiError);
      }
    }
    // Report the branch that fits the value's shape (an object's unknown key, not "Invalid integer").
    const k = kind(value);
    const fitting = schema.anyOf.findIndex((b) =>
      k === 'object' ? b.type === 'object' : k === 'array' ? b.type === 'array' : b.type !== 'object',
    );
    throw errors[Math.max(0, fitting)] as StripeApiError;
  }
  switch (schema.type) {
    case undefined:
      return;
    case 'string': {
      if (typeof value !== 'string') throw bad(`Invalid string: ${param} must be a string.`, param);
      if (value === '') {
        throw bad(
          `You passed an empty string for '${param}'. We assume empty values are an attempt to unset a parameter; however '${param}' cannot be unset. You should remove '${param}' from your request or supply a non-empty value.`,
          param,
          'parameter_invalid_empty',
        );
      }
      if (schema.enum && !schema.enum.includes(value)) throw bad(`Invalid ${param}: must be one of ${oneOf(schema.enum)}`, param);
      if (value.length > 5000) throw bad(`Invalid string: ${value.slice(0, 20)}...; must be at most 5000 characters`, param);
      if (schema.format === 'decimal' && !/^-?\d+(\.\d+)?$/.test(value)) throw bad(`Invalid decimal: ${value}`, param);
      return;
    }
    case 'integer':
      if (typeof value !== 'string' || !/^-?\d{1,18}$/.test(value)) {
        throw bad(`Invalid integer: ${typeof value === 'string' ? value : 'an object'}`, param, 'parameter_invalid_integer');
      }
      return;
    case 'number':
      if (typeof value !== 'string' || !/^-?\d+(\.\d+)?$/.test(value)) throw bad(`Invalid decimal: ${String(value)}`, param);
      return;
    case 'boolean':
      if (value !== 'true' && value !== 'false') throw bad(`Invalid boolean: ${typeof value === 'string' ? value : 'an object'}`, param);
      return;
    case 'array': {
      const items = asArray(value);
      if (!items) throw bad('Invalid array', param);
      for (const [i, item] of items.entries()) check(schema.items ?? {}, item, child(param, i));
      return;
    }
    case 'object': {
      if (kind(value) !== 'object') {
        if (value === '') {
          throw bad(
            `You passed an empty string for '${param}'. We assume empty values are an attempt to unset a parameter; however '${param}' cannot be unset. You should remove '${param}' from your request or supply a non-empty value.`,
            param,
            'parameter_invalid_empty',
          );
        }
        throw bad('Invalid object', param);
      }
      const record = value as Record<string, unknown>;
      for (const [key, v] of Object.entries(record)) {
        // `metadata[key]=` unsets one key of a map.
        if (v === '' && !schema.properties?.[key] && schema.additionalProperties) continue;
        const propSchema = schema.properties?.[key] ?? schema.additionalProperties;
        if (!propSchema) throw bad(`Received unknown parameter: ${child(param, key)}`, child(param, key), 'parameter_unknown');
        check(propSchema, v, child(param, key));
      }
      for (const key of schema.required ?? []) {
        if (record[key] === undefined) {
          throw new StripeApiError(400, 'invalid_request_error', `Missing required param: ${child(param, key)}.`, {
            code: 'parameter_missing',
            param: child(param, key),
          });
        }
      }
      return;
    }
  }
}

export function validateParams(schema: ParamSchema, params: Params): void {
  check(schema, params, '');
}

// ------------------------------------------------------------------ expand

interface ObjectSchema {
  properties?: Record<string, unknown>;
  'x-expandableFields'?: string[];
}

const spec = JSON.parse(readFileSync(specFile('stripe-openapi-subset.json'), 'utf8')) as {
  components: { schemas: Record<string, ObjectSchema> };
};
const schemas = spec.components.schemas;

/**
 * Expandable fields the objects gained after the 2023 document, at the version the SDK pins:
 * `invoice.parent.subscription_details.subscription` replaced `invoice.subscription`.
 */
const DRIFT: Record<string, ObjectSchema> = {
  'invoice.parent': {
    'x-expandableFields': ['subscription_details'],
    properties: { subscription_details: { $ref: '#/components/schemas/invoice.parent.subscription_details' } },
  },
  'invoice.parent.subscription_details': {
    'x-expandableFields': ['subscription'],
    properties: { subscription: { anyOf: [{ type: 'string' }, { $ref: '#/components/schemas/subscription' }] } },
  },
};
const invoiceSchema = schemas.invoice as ObjectSchema;
/** Today's objects: the 2023 schemas without the fields removed since, plus the drift above. */
const current: Record<string, ObjectSchema> = {
  ...Object.fromEntries(
    Object.entries(schemas).map(([name, schema]) => {
      const removed = removedSince2023(name);
      if (removed.length === 0) return [name, schema];
      return [name, { ...schema, 'x-expandableFields': (schema['x-expandableFields'] ?? []).filter((f) => !removed.includes(f)) }];
    }),
  ),
  ...DRIFT,
};
// `subscription.discounts` (ids of Discount objects) replaced `subscription.discount`.
current.subscription = {
  ...current.subscription,
  'x-expandableFields': [...(current.subscription?.['x-expandableFields'] ?? []), 'discounts'],
  properties: {
    ...current.subscription?.properties,
    discounts: { type: 'array', items: { anyOf: [{ type: 'string' }, { $ref: '#/components/schemas/discount' }] } },
  },
};
// `invoice.parent` replaced `invoice.subscription`; `confirmation_secret` and `payments` (a list of
// invoice payments) are included only when expanded.
current.invoice = {
  ...current.invoice,
  'x-expandableFields': [...(current.invoice?.['x-expandableFields'] ?? []), 'parent', 'confirmation_secret', 'payments'],
  properties: {
    ...invoiceSchema.properties,
    parent: { $ref: '#/components/schemas/invoice.parent' },
    confirmation_secret: { properties: { client_secret: {}, type: {} } },
    payments: { properties: { object: {}, data: { items: { $ref: '#/components/schemas/invoice_payment' } } } },
  },
};
const tables: Record<Shape, Record<string, ObjectSchema>> = { current, legacy: schemas };

/** The object schema a property leads to: through `$ref`, `anyOf` (id or object) and Stripe's list envelope. */
function target(table: Record<string, ObjectSchema>, prop: unknown): { schema: ObjectSchema | null; list: boolean; array: boolean } {
  const node = prop as { $ref?: string; anyOf?: unknown[]; type?: string; items?: unknown; properties?: Record<string, unknown> };
  if (!node || typeof node !== 'object') return { schema: null, list: false, array: false };
  if (node.$ref) return { schema: table[node.$ref.split('/').at(-1) as string] ?? null, list: false, array: false };
  if (node.anyOf) {
    for (const branch of node.anyOf) {
      const t = target(table, branch);
      if (t.schema) return t;
    }
    return { schema: null, list: false, array: false };
  }
  if (node.type === 'array') return { ...target(table, node.items), array: true };
  const data = node.properties?.data as { items?: unknown } | undefined;
  if (node.properties?.object && data?.items) return { ...target(table, data.items), list: true };
  if (node.properties) return { schema: node as ObjectSchema, list: false, array: false };
  return { schema: null, list: false, array: false };
}

const cannotExpand = (path: string) =>
  new StripeApiError(400, 'invalid_request_error', `This property cannot be expanded (${path}).`, { param: 'expand' });

/**
 * Refuses an `expand[]` path that Stripe would refuse, at `version`, for an object of `objectName`
 * (for a list answer, `data.` comes first). At most four levels, as on Stripe.
 */
export function checkExpandPath(version: ServedVersion, objectName: string, isList: boolean, path: string): void {
  const table = tables[shapeOf(version)];
  let parts = path.split('.');
  if (parts.length > 4 + (isList ? 1 : 0)) {
    throw new StripeApiError(400, 'invalid_request_error', `You cannot expand more than 4 levels of a property (${path}).`, {
      param: 'expand',
    });
  }
  if (isList) {
    if (parts[0] !== 'data') throw cannotExpand(path);
    parts = parts.slice(1);
  }
  let schema: ObjectSchema | null = table[objectName] ?? null;
  let inList = false;
  for (const part of parts) {
    if (!schema) throw cannotExpand(path);
    if (inList) {
      if (part !== 'data') throw cannotExpand(path);
      inList = false;
      continue;
    }
    if (!schema['x-expandableFields']?.includes(part)) throw cannotExpand(path);
    const next = target(table, schema.properties?.[part]);
    schema = next.schema;
    inList = next.list;
  }
}

/** The object each resource path answers with, for expand checks: longest prefix wins. */
const RESOURCE_OBJECTS: Array<[RegExp, string]> = [
  [/^\/v1\/checkout\/sessions\/[^/]+\/line_items$/, 'item'],
  [/^\/v1\/invoices\/[^/]+\/lines$/, 'line_item'],
  [/^\/v1\/billing_portal\/sessions/, 'billing_portal.session'],
  [/^\/v1\/checkout\/sessions/, 'checkout.session'],
  [/^\/v1\/customers/, 'customer'],
  [/^\/v1\/subscription_items/, 'subscription_item'],
  [/^\/v1\/subscriptions/, 'subscription'],
  [/^\/v1\/invoices/, 'invoice'],
  [/^\/v1\/prices/, 'price'],
  [/^\/v1\/products/, 'product'],
  [/^\/v1\/events/, 'event'],
  [/^\/v1\/coupons/, 'coupon'],
  [/^\/v1\/promotion_codes/, 'promotion_code'],
  [/^\/v1\/refunds/, 'refund'],
  [/^\/v1\/charges/, 'charge'],
  [/^\/v1\/payment_intents/, 'payment_intent'],
  [/^\/v1\/disputes/, 'dispute'],
  [/^\/v1\/invoice_payments/, 'invoice_payment'],
  [/^\/v1\/webhook_endpoints/, 'webhook_endpoint'],
];

export function objectOfPath(path: string): string | undefined {
  return RESOURCE_OBJECTS.find(([re]) => re.test(path))?.[1];
}
