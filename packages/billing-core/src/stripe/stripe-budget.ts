import { AsyncLocalStorage } from 'node:async_hooks';
import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import Stripe from 'stripe';

/** Who waits for a Stripe call: a person (`user`) or a worker (`background`). */
export type StripePriority = 'user' | 'background';

const priority = new AsyncLocalStorage<StripePriority>();

/** Runs `fn` with its Stripe calls marked as background work: they wait behind every person's. */
export function inBackground<T>(fn: () => Promise<T>): Promise<T> {
  return priority.run('background', fn);
}

interface Waiter {
  resolve(): void;
  since: number;
}

/**
 * The Stripe request budget of every process together: each call takes one point from a shared
 * limiter (rate-limiter-flexible; on PostgreSQL its counter is shared by all processes) before it
 * goes out. Calls queue here while the budget is spent, people's calls ahead of workers' re-reads.
 */
export class StripeBudget {
  private readonly queues: Record<StripePriority, Waiter[]> = { user: [], background: [] };
  private pumping = false;

  constructor(
    private readonly limiter: RateLimiterAbstract,
    private readonly onWait?: (seconds: number, priority: StripePriority) => void,
  ) {}

  /** Resolves when this call may go out. */
  acquire(): Promise<void> {
    const p = priority.getStore() ?? 'user';
    return new Promise<void>((resolve) => {
      this.queues[p].push({ resolve, since: performance.now() });
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const p: StripePriority | undefined = this.queues.user.length ? 'user' : this.queues.background.length ? 'background' : undefined;
        if (!p) return;
        try {
          await this.limiter.consume('stripe', 1);
        } catch (err) {
          // Spent for now: wait for the next window (a store failure lets the call through rather
          // than stopping billing; Stripe's own 429 is still retried by the client below).
          if (err instanceof RateLimiterRes) {
            await new Promise((r) => setTimeout(r, Math.max(5, err.msBeforeNext)));
            continue;
          }
        }
        const waiter = this.queues[p].shift();
        if (waiter) {
          this.onWait?.((performance.now() - waiter.since) / 1000, p);
          waiter.resolve();
        }
      }
    } finally {
      this.pumping = false;
    }
  }
}

type MakeRequest = Stripe.HttpClient['makeRequest'];

/**
 * The SDK's own Node HTTP client, with every request first taking its place in the budget, and a
 * 429 from Stripe retried (same request, same idempotency key) after a backoff with jitter.
 */
export class BudgetedHttpClient extends Stripe.HttpClient {
  private readonly inner = Stripe.createNodeHttpClient();

  constructor(
    private readonly budget: StripeBudget,
    private readonly options: { max429Retries?: number; baseDelayMs?: number } = {},
  ) {
    super();
  }

  override getClientName(): string {
    return this.inner.getClientName();
  }

  override async makeRequest(...args: Parameters<MakeRequest>): ReturnType<MakeRequest> {
    const retries = this.options.max429Retries ?? 3;
    for (let attempt = 0; ; attempt++) {
      await this.budget.acquire();
      const response = await this.inner.makeRequest(...args);
      if (response.getStatusCode() !== 429 || attempt >= retries) return response;
      // Read and drop the refused answer before asking again.
      await response.toJSON().catch(() => undefined);
      const base = (this.options.baseDelayMs ?? 250) * 2 ** attempt;
      await new Promise((r) => setTimeout(r, base / 2 + Math.random() * base));
    }
  }
}
