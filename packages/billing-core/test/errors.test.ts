import { describe, expect, it } from 'vitest';
import { BillingError, causeOf } from '../src/errors.ts';

describe('causeOf: what a failure was, safe to log and store', () => {
  it('names a billing error by its code, a database or system error by its own code, anything else by its class', () => {
    expect(causeOf(new BillingError('STRIPE_UNAVAILABLE', 'Stripe did not answer for sk_live_secret'))).toBe('STRIPE_UNAVAILABLE');
    expect(causeOf(Object.assign(new Error('deadlock detected on customer cus_123'), { code: '40P01' }))).toBe('40P01');
    expect(causeOf(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
    expect(causeOf(new TypeError('cannot read user_id of {"card":"4242"}'))).toBe('TypeError');
    expect(causeOf('a thrown string')).toBe('UNKNOWN');
  });

  it('never passes on a code that reads like a message', () => {
    const odd = Object.assign(new RangeError('x'), { code: 'token sk_live_abc leaked' });
    expect(causeOf(odd)).toBe('RangeError');
    expect(causeOf(Object.assign(new Error('x'), { code: 42 }))).toBe('Error');
  });
});
