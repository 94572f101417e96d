import { BillingError } from '@miniapp-billing/billing-core';
import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { restErrorBody, trpcErrorShape, wireError } from '../src/errors.ts';

// The one function every error body comes from: what each kind of failure becomes on the wire.
const zodError = (schema: z.ZodType, value: unknown) => {
  const parsed = schema.safeParse(value);
  if (parsed.success) throw new Error('expected a schema failure');
  return parsed.error;
};

describe('wireError', () => {
  it('input that fails its schema is 422 VALIDATION_FAILED with the issues, in both shapes', () => {
    const cause = zodError(z.strictObject({ plan_id: z.string() }), { plan_id: 3 });
    const e = wireError(new TRPCError({ code: 'BAD_REQUEST', cause }));
    expect(e).toMatchObject({
      status: 422,
      code: 'UNPROCESSABLE_CONTENT',
      reason: 'VALIDATION_FAILED',
      message: 'Request failed validation',
    });
    expect(e.issues).toEqual([{ path: 'plan_id', message: expect.any(String) }]);
    expect(restErrorBody(e, 'req-1')).toEqual({
      code: 'UNPROCESSABLE_CONTENT',
      message: 'Request failed validation',
      request_id: 'req-1',
      reason: 'VALIDATION_FAILED',
      issues: e.issues,
    });
    expect(trpcErrorShape(e, 'req-1', 'billing.checkout.create')).toEqual({
      message: 'Request failed validation',
      code: -32600,
      data: {
        code: 'UNPROCESSABLE_CONTENT',
        httpStatus: 422,
        path: 'billing.checkout.create',
        reason: 'VALIDATION_FAILED',
        request_id: 'req-1',
        issues: e.issues,
      },
    });
  });

  it('an output that fails its own schema is a masked 500, never a 422', () => {
    const cause = zodError(z.object({ tier: z.string() }), { tier: 1 });
    const e = wireError(new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Output validation failed', cause }));
    expect(e).toMatchObject({ status: 500, code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' });
    expect(e.issues).toBeUndefined();
  });

  it('a domain error thrown inside a procedure keeps its status and reason', () => {
    const thrown = new BillingError('SUBSCRIPTION_EXISTS', 'You already have a live subscription');
    const e = wireError(new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: thrown }));
    expect(e).toMatchObject({
      status: 409,
      code: 'CONFLICT',
      reason: 'SUBSCRIPTION_EXISTS',
      message: 'You already have a live subscription',
    });
    expect(restErrorBody(e, 'r')).toMatchObject({ code: 'CONFLICT', reason: 'SUBSCRIPTION_EXISTS' });
  });

  it('an unreachable database is 503 with a message safe to show', () => {
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const e = wireError(new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: down }));
    expect(e).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', reason: 'DATABASE_UNAVAILABLE' });
    expect(e.message).not.toMatch(/ECONNREFUSED|5432/);
  });

  it('anything unexpected is a masked 500 that keeps only the cause name for the log', () => {
    const e = wireError(new TypeError('secret sk_live_123 in a message'));
    expect(e).toMatchObject({ status: 500, message: 'Internal server error', cause: { name: 'TypeError' } });
    expect(JSON.stringify(restErrorBody(e, 'r'))).not.toContain('sk_live');
    expect(JSON.stringify(trpcErrorShape(e, 'r', 'x'))).not.toContain('sk_live');
  });
});
