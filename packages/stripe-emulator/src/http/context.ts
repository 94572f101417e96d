import type { StripeState } from '../state.ts';
import type { WebhookDispatcher } from '../webhooks.ts';

/** What the emulator's routers share: the account, its deliveries, and the request-level records. */
export interface EmulatorContext {
  state: StripeState;
  dispatcher: WebhookDispatcher;
  /** Every `/v1` request received, oldest first. */
  requests: RequestRecord[];
  /** Injected faults, consumed in order (mutated in place). */
  faults: Fault[];
  /** Stripe's idempotency records by key (24 h). */
  idempotency: Map<string, IdempotencyEntry>;
  /** Recomputes the webhook targets after an endpoint changes. */
  refreshTargets(): void;
  log?: ((line: string) => void) | undefined;
}

export interface Fault {
  method: string;
  path: string;
  status?: number;
  delay_ms?: number;
  /** Run the operation, then drop the connection before answering (Stripe committed; the client never heard). */
  drop?: boolean;
  count: number;
}

export interface RequestRecord {
  id: string;
  method: string;
  path: string;
  status: number;
  idempotency_key: string | null;
  replayed: boolean;
  fault: string | null;
  at: string;
}

export interface IdempotencyEntry {
  requestId: string;
  method: string;
  path: string;
  hash: string;
  status: number;
  body: unknown;
  done: boolean;
  at: number;
}

/** How long Stripe remembers an idempotent request. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
