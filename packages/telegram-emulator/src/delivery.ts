/** One update as the bot receives it. */
export interface Update {
  update_id: number;
  [kind: string]: unknown;
}

export interface WebhookConfig {
  url: string;
  secretToken: string | undefined;
}

export interface DeliveryOptions {
  /** Waits between attempts at one update (Telegram keeps retrying an update that got no 2xx). */
  retryDelaysMs?: number[];
  /** How long one delivery may take before it counts as failed. */
  timeoutMs?: number;
}

/**
 * Updates in `update_id` order to the bot's webhook, one at a time, with
 * `X-Telegram-Bot-Api-Secret-Token`; an update that gets no 2xx is retried (the ones behind it
 * wait), and dropped after the last retry with the error kept for `getWebhookInfo`. Without a
 * webhook, updates wait.
 */
export class UpdateDelivery {
  private readonly queue: Update[] = [];
  private running: Promise<void> | undefined;
  private readonly idleWaiters: Array<() => void> = [];
  webhook: WebhookConfig | undefined;
  lastError: { date: number; message: string } | undefined;
  /** Every delivery attempt, for tests: which update, what status (0: no answer). */
  readonly attempts: Array<{ update_id: number; status: number }> = [];
  private closed = false;

  constructor(
    private readonly options: DeliveryOptions,
    private readonly now: () => number,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  push(update: Update): void {
    this.queue.push(update);
    this.kick();
  }

  setWebhook(webhook: WebhookConfig | undefined, dropPending: boolean): void {
    this.webhook = webhook;
    if (dropPending) this.queue.length = 0;
    this.kick();
  }

  /** Resolves once nothing is waiting to be delivered (or nothing can be: no webhook). */
  idle(): Promise<void> {
    if (!this.running && (this.queue.length === 0 || !this.webhook)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  clear(): void {
    this.queue.length = 0;
    this.attempts.length = 0;
    this.lastError = undefined;
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private kick(): void {
    if (this.running || !this.webhook || this.queue.length === 0 || this.closed) {
      if (!this.running) for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      this.kick();
    });
  }

  private async drain(): Promise<void> {
    const delays = this.options.retryDelaysMs ?? [1_000, 5_000, 15_000, 60_000];
    while (this.queue.length > 0 && this.webhook && !this.closed) {
      const update = this.queue[0] as Update;
      let delivered = false;
      for (let attempt = 0; attempt <= delays.length && !this.closed; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, delays[attempt - 1]));
        const webhook = this.webhook;
        if (!webhook) return;
        const status = await this.send(webhook, update);
        this.attempts.push({ update_id: update.update_id, status });
        if (status >= 200 && status < 300) {
          delivered = true;
          break;
        }
        this.lastError = { date: this.now(), message: status === 0 ? 'Connection refused' : `Wrong response from the webhook: ${status}` };
      }
      if (this.queue[0] === update) this.queue.shift();
      if (!delivered && this.closed) return;
    }
  }

  private async send(webhook: WebhookConfig, update: Update): Promise<number> {
    try {
      const res = await fetch(webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(webhook.secretToken ? { 'x-telegram-bot-api-secret-token': webhook.secretToken } : {}),
        },
        body: JSON.stringify(update),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }
}
