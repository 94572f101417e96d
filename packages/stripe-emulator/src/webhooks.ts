import { createHmac } from 'node:crypto';
import type { StripeEvent } from './objects.ts';
import { type Links, renderAt, type ServedVersion } from './versions.ts';

/** `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<payload>">`, keyed with the whole secret. */
export function signPayload(payload: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

export interface WebhookTarget {
  id: string;
  url: string;
  secret: string;
  /** `['*']` or event types. */
  enabledEvents: string[];
  /** The endpoint's `api_version`: events reach it rendered at this version. */
  apiVersion: ServedVersion;
}

export interface DeliveryAttempt {
  id: number;
  event_id: string;
  event_type: string;
  endpoint: string;
  url: string;
  attempt: number;
  status: number | null;
  error: string | null;
  duration_ms: number;
  at: string;
  /** Set when no further attempt will be made: 'delivered' or 'gave_up'. */
  final: 'delivered' | 'gave_up' | null;
}

export interface WebhookOptions {
  /** Delays before each retry after a failed attempt; its length is the number of retries. */
  retryDelaysMs: number[];
  /** How long one attempt may take before it counts as failed. */
  timeoutMs: number;
  /** First attempts in flight at once per endpoint; 1 keeps emission order. */
  concurrency: number;
  /** A random delay of up to this before each attempt; with concurrency > 1, events arrive out of order. */
  jitterMs: number;
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = {
  retryDelaysMs: [1_000, 5_000, 30_000, 120_000, 600_000, 3_600_000],
  timeoutMs: 10_000,
  concurrency: 1,
  jitterMs: 0,
};

interface Job {
  event: StripeEvent;
  payload: string;
  target: WebhookTarget;
  attempt: number;
}

/**
 * Delivers events to webhook endpoints as Stripe does: a JSON POST signed anew on every attempt,
 * retried with backoff on a non-2xx answer, a timeout or a network error.
 */
export class WebhookDispatcher {
  readonly log: DeliveryAttempt[] = [];
  private readonly queues = new Map<string, Job[]>();
  private readonly running = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private pending = 0;
  private idleWaiters: Array<() => void> = [];
  private nextId = 1;
  private closed = false;
  /** Bumped by reset/close: attempts started before it no longer count or log. */
  private generation = 0;
  paused = false;
  /** Set once the account exists: what 2023-shaped invoices link to. */
  links: Links | undefined;

  constructor(private readonly options: WebhookOptions) {}

  dispatch(event: StripeEvent, targets: WebhookTarget[]): void {
    const matching = targets.filter((t) => t.enabledEvents.includes('*') || t.enabledEvents.includes(event.type));
    event.pending_webhooks = matching.length;
    if (matching.length === 0 || this.closed) return;
    const payloads = new Map<ServedVersion, string>();
    for (const target of matching) {
      let payload = payloads.get(target.apiVersion);
      if (payload === undefined) {
        payload = JSON.stringify(renderAt(target.apiVersion, event, this.links), null, 2);
        payloads.set(target.apiVersion, payload);
      }
      this.enqueue({ event, payload, target, attempt: 1 });
    }
  }

  /** Resolves once every delivery, retries included, has succeeded or given up. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  resume(): void {
    this.paused = false;
    for (const key of this.queues.keys()) this.pump(key);
  }

  close(): void {
    this.closed = true;
    this.generation += 1;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queues.clear();
    this.pending = 0;
    this.settle();
  }

  reset(): void {
    this.generation += 1;
    this.running.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queues.clear();
    this.log.length = 0;
    this.pending = 0;
    this.settle();
  }

  private enqueue(job: Job): void {
    this.pending += 1;
    const key = job.target.id;
    const queue = this.queues.get(key) ?? [];
    queue.push(job);
    this.queues.set(key, queue);
    this.pump(key);
  }

  private pump(key: string): void {
    if (this.paused || this.closed) return;
    const queue = this.queues.get(key);
    while (queue && queue.length > 0 && (this.running.get(key) ?? 0) < this.options.concurrency) {
      const job = queue.shift() as Job;
      const generation = this.generation;
      this.running.set(key, (this.running.get(key) ?? 0) + 1);
      void this.attempt(job, generation).finally(() => {
        if (generation !== this.generation) return;
        this.running.set(key, (this.running.get(key) ?? 1) - 1);
        this.pump(key);
      });
    }
  }

  private async attempt(job: Job, generation: number): Promise<void> {
    const started = Date.now();
    let status: number | null = null;
    let error: string | null = null;
    if (this.options.jitterMs > 0) await new Promise((r) => setTimeout(r, Math.random() * this.options.jitterMs));
    if (this.closed || generation !== this.generation) return;
    try {
      const res = await fetch(job.target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'stripe-signature': signPayload(job.payload, job.target.secret),
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        },
        body: job.payload,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch (err) {
      error = err instanceof Error ? (err.name === 'TimeoutError' ? 'timeout' : err.message) : String(err);
    }
    if (this.closed || generation !== this.generation) return;
    const ok = status !== null && status >= 200 && status < 300;
    const canRetry = job.attempt <= this.options.retryDelaysMs.length;
    const entry: DeliveryAttempt = {
      id: this.nextId++,
      event_id: job.event.id,
      event_type: job.event.type,
      endpoint: job.target.id,
      url: job.target.url,
      attempt: job.attempt,
      status,
      error,
      duration_ms: Date.now() - started,
      at: new Date().toISOString(),
      final: ok ? 'delivered' : canRetry ? null : 'gave_up',
    };
    this.log.push(entry);
    if (ok) {
      job.event.pending_webhooks = Math.max(0, job.event.pending_webhooks - 1);
    } else if (canRetry) {
      const delay = this.options.retryDelaysMs[job.attempt - 1] ?? 0;
      this.pending += 1;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.pending -= 1;
        this.enqueue({ ...job, attempt: job.attempt + 1 });
      }, delay);
      timer.unref();
      this.timers.add(timer);
    }
    this.pending -= 1;
    this.settle();
  }

  private settle(): void {
    if (this.pending > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
