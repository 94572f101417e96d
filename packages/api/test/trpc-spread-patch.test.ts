import { initTRPC } from '@trpc/server';
import { describe, expect, it } from 'vitest';

// `patches/@trpc__server@11.25.2.patch` swaps tRPC's object-spread helper, run at every middleware
// step, for Object.assign. These hold it to what tRPC's own helper does with a context a middleware
// hands on: later keys win, nothing else is lost, and a key named "__proto__" is an own key, never a
// new prototype for the context.
const t = initTRPC.context<Record<string, unknown>>().create();

const procedure = (extra: () => Record<string, unknown>) =>
  t.router({
    read: t.procedure
      .use(({ next }) => next({ ctx: extra() }))
      .query(({ ctx }) => ({
        a: ctx.a,
        b: ctx.b,
        polluted: (ctx as { polluted?: unknown }).polluted,
        ownProto: Object.hasOwn(ctx, '__proto__'),
        prototypeIsObject: Object.getPrototypeOf(ctx) === Object.prototype,
      })),
  });

describe('the patched tRPC spread helper', () => {
  it('merges a middleware context over the request one, later keys winning', async () => {
    const caller = procedure(() => ({ b: 'from middleware' })).createCaller({ a: 'from request', b: 'from request' });
    expect(await caller.read()).toEqual({
      a: 'from request',
      b: 'from middleware',
      polluted: undefined,
      ownProto: false,
      prototypeIsObject: true,
    });
  });

  it('copies a "__proto__" key as an own key, never as the prototype', async () => {
    const caller = procedure(() => JSON.parse('{"__proto__": {"polluted": true}, "b": 2}')).createCaller({ a: 1 });
    expect(await caller.read()).toEqual({ a: 1, b: 2, polluted: undefined, ownProto: true, prototypeIsObject: true });
  });
});
