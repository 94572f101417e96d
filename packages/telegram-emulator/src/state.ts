import { randomBytes } from 'node:crypto';
import { type DeliveryOptions, UpdateDelivery } from './delivery.ts';
import { badRequest, forbidden, TelegramError } from './errors.ts';

/** The one subscription period Telegram accepts today: 30 days. */
export const SUBSCRIPTION_PERIOD = 2_592_000;

export interface TelegramUser {
  id: number;
  is_bot: false;
  first_name: string;
  username?: string;
  language_code?: string;
}

export interface Person {
  user: TelegramUser;
  stars: number;
  blocked: boolean;
}

export interface InvoiceLink {
  slug: string;
  title: string;
  description: string;
  payload: string;
  currency: 'XTR';
  amount: number;
  subscriptionPeriod: number | undefined;
}

export interface StarSubscription {
  /** The first payment's charge id; every renewal has its own. */
  chargeId: string;
  chargeIds: string[];
  userId: number;
  slug: string;
  amount: number;
  payload: string;
  /** Unix seconds: the end of the paid period. */
  expiresAt: number;
  canceledByBot: boolean;
  canceledByUser: boolean;
  active: boolean;
}

export interface StarPayment {
  chargeId: string;
  userId: number;
  amount: number;
  payload: string;
  date: number;
  subscriptionPeriod: number | undefined;
  refundedAt: number | undefined;
}

export interface SentMessage {
  message_id: number;
  date: number;
  chat: { id: number; type: 'private'; first_name: string };
  from: { id: number; is_bot: true; first_name: string; username: string };
  text: string;
  parse_mode?: string;
  reply_markup?: unknown;
}

export interface Fault {
  /** A Bot API method name (any case), or every method when absent. */
  method?: string;
  errorCode: number;
  description: string;
  retryAfter?: number;
  /** How many calls it answers; then it is gone. */
  remaining: number;
}

export type PayOutcome = 'paid' | 'cancelled' | 'insufficient_stars';
export interface PayResult {
  status: 'paid' | 'cancelled' | 'failed';
  reason?: string;
  telegram_payment_charge_id?: string;
}

export interface TelegramStateOptions {
  token: string;
  botUsername?: string;
  /** How long the bot has to answer a pre_checkout_query (Telegram: 10 s). */
  preCheckoutTimeoutMs?: number;
  delivery?: DeliveryOptions;
}

/**
 * One bot's world as Telegram keeps it: people and their Stars, invoice links, payments and Stars
 * subscriptions, what the bot sent, and the updates on their way to its webhook. Time is a clock
 * that tests move (`advance`); renewals happen when it passes a subscription's expiration.
 */
export class TelegramState {
  readonly botId: number;
  readonly botUsername: string;
  readonly people = new Map<number, Person>();
  readonly invoices = new Map<string, InvoiceLink>();
  readonly payments = new Map<string, StarPayment>();
  readonly subscriptions = new Map<string, StarSubscription>();
  readonly messages: SentMessage[] = [];
  readonly faults: Fault[] = [];
  readonly delivery: UpdateDelivery;
  private offsetSeconds = 0;
  private nextUpdateId = 1;
  private nextMessageId = 1;
  private nextQueryId = 1;
  private readonly preCheckouts = new Map<string, (answer: { ok: boolean; error_message?: string }) => void>();

  constructor(readonly options: TelegramStateOptions) {
    const id = Number(options.token.split(':')[0]);
    if (!Number.isInteger(id) || id <= 0) throw new Error('the bot token must look like <bot id>:<secret>');
    this.botId = id;
    this.botUsername = options.botUsername ?? 'billing_demo_bot';
    this.delivery = new UpdateDelivery(options.delivery ?? {}, () => this.now());
  }

  /** Unix seconds on the emulator's clock. */
  now(): number {
    return Math.floor(Date.now() / 1000) + this.offsetSeconds;
  }

  get botUser() {
    return { id: this.botId, is_bot: true as const, first_name: 'Billing', username: this.botUsername };
  }

  /** A person Telegram knows; created with no Stars the first time they are named. */
  person(id: number): Person {
    let p = this.people.get(id);
    if (!p) {
      p = { user: { id, is_bot: false, first_name: `User ${id}` }, stars: 0, blocked: false };
      this.people.set(id, p);
    }
    return p;
  }

  private push(kind: string, value: unknown): number {
    const update_id = this.nextUpdateId++;
    this.delivery.push({ update_id, [kind]: value });
    return update_id;
  }

  private serviceMessage(userId: number, body: Record<string, unknown>) {
    const person = this.person(userId);
    return {
      message_id: this.nextMessageId++,
      date: this.now(),
      chat: { id: userId, type: 'private', first_name: person.user.first_name },
      from: person.user,
      ...body,
    };
  }

  createInvoiceLink(invoice: Omit<InvoiceLink, 'slug'>): string {
    const slug = randomBytes(9).toString('base64url');
    this.invoices.set(slug, { ...invoice, slug });
    return slug;
  }

  /**
   * A person pays an invoice link (what `openInvoice` does inside Telegram): the bot gets a
   * `pre_checkout_query` and has `preCheckoutTimeoutMs` to answer it; then the Stars move and the
   * bot gets the `successful_payment`. `cancelled`: the person closed the sheet (the bot hears
   * nothing). `insufficient_stars`: the person cannot pay.
   */
  async pay(slug: string, userId: number, outcome: PayOutcome): Promise<PayResult> {
    const invoice = this.invoices.get(slug);
    if (!invoice) throw new TelegramError(404, 'Not Found: invoice not found');
    const person = this.person(userId);
    if (outcome === 'cancelled') return { status: 'cancelled' };
    if (outcome === 'insufficient_stars' || person.stars < invoice.amount) return { status: 'failed', reason: 'insufficient_stars' };
    const queryId = String(this.nextQueryId++);
    const answer = new Promise<{ ok: boolean; error_message?: string } | 'timeout'>((resolve) => {
      const timer = setTimeout(() => {
        this.preCheckouts.delete(queryId);
        resolve('timeout');
      }, this.options.preCheckoutTimeoutMs ?? 10_000);
      this.preCheckouts.set(queryId, (a) => {
        clearTimeout(timer);
        this.preCheckouts.delete(queryId);
        resolve(a);
      });
    });
    this.push('pre_checkout_query', {
      id: queryId,
      from: person.user,
      currency: invoice.currency,
      total_amount: invoice.amount,
      invoice_payload: invoice.payload,
    });
    const answered = await answer;
    if (answered === 'timeout') return { status: 'failed', reason: 'pre_checkout_timeout' };
    if (!answered.ok) return { status: 'failed', reason: answered.error_message ?? 'declined by the bot' };
    if (person.stars < invoice.amount) return { status: 'failed', reason: 'insufficient_stars' };
    const chargeId = this.charge(person, invoice.amount, invoice.payload, invoice.subscriptionPeriod);
    let expiration: number | undefined;
    if (invoice.subscriptionPeriod) {
      expiration = this.now() + invoice.subscriptionPeriod;
      this.subscriptions.set(chargeId, {
        chargeId,
        chargeIds: [chargeId],
        userId,
        slug,
        amount: invoice.amount,
        payload: invoice.payload,
        expiresAt: expiration,
        canceledByBot: false,
        canceledByUser: false,
        active: true,
      });
    }
    this.push(
      'message',
      this.serviceMessage(userId, {
        successful_payment: {
          currency: 'XTR',
          total_amount: invoice.amount,
          invoice_payload: invoice.payload,
          telegram_payment_charge_id: chargeId,
          provider_payment_charge_id: '',
          ...(expiration ? { subscription_expiration_date: expiration, is_recurring: true, is_first_recurring: true } : {}),
        },
      }),
    );
    return { status: 'paid', telegram_payment_charge_id: chargeId };
  }

  answerPreCheckout(queryId: string, answer: { ok: boolean; error_message?: string }): void {
    const resolve = this.preCheckouts.get(queryId);
    if (!resolve) throw badRequest('query is too old and response timeout expired or query ID is invalid');
    if (!answer.ok && !answer.error_message) throw badRequest('error_message must be non-empty when ok is false');
    resolve(answer);
  }

  private charge(person: Person, amount: number, payload: string, subscriptionPeriod: number | undefined): string {
    person.stars -= amount;
    const chargeId = `stxn_${randomBytes(12).toString('base64url')}`;
    this.payments.set(chargeId, {
      chargeId,
      userId: person.user.id,
      amount,
      payload,
      date: this.now(),
      subscriptionPeriod,
      refundedAt: undefined,
    });
    return chargeId;
  }

  /**
   * Moves the clock; each subscription whose paid period ends in that time renews (a new charge and
   * a `successful_payment` with `is_recurring`) while the person has the Stars and nobody cancelled
   * it, else it lapses at its expiration, and the bot is not told.
   */
  advance(seconds: number): void {
    this.offsetSeconds += seconds;
    const now = this.now();
    for (const sub of this.subscriptions.values()) {
      while (sub.active && sub.expiresAt <= now) {
        const person = this.person(sub.userId);
        if (sub.canceledByBot || sub.canceledByUser || person.stars < sub.amount) {
          sub.active = false;
          break;
        }
        const chargeId = this.charge(person, sub.amount, sub.payload, SUBSCRIPTION_PERIOD);
        sub.chargeIds.push(chargeId);
        sub.expiresAt += SUBSCRIPTION_PERIOD;
        this.push(
          'message',
          this.serviceMessage(sub.userId, {
            successful_payment: {
              currency: 'XTR',
              total_amount: sub.amount,
              invoice_payload: sub.payload,
              telegram_payment_charge_id: chargeId,
              provider_payment_charge_id: '',
              subscription_expiration_date: sub.expiresAt,
              is_recurring: true,
            },
          }),
        );
      }
    }
  }

  subscriptionOf(chargeId: string): StarSubscription | undefined {
    for (const sub of this.subscriptions.values()) if (sub.chargeIds.includes(chargeId)) return sub;
    return undefined;
  }

  refund(userId: number, chargeId: string): void {
    const payment = this.payments.get(chargeId);
    if (!payment || payment.userId !== userId) throw badRequest('CHARGE_NOT_FOUND');
    if (payment.refundedAt !== undefined) throw badRequest('CHARGE_ALREADY_REFUNDED');
    payment.refundedAt = this.now();
    this.person(userId).stars += payment.amount;
    this.push(
      'message',
      this.serviceMessage(userId, {
        refunded_payment: {
          currency: 'XTR',
          total_amount: payment.amount,
          invoice_payload: payment.payload,
          telegram_payment_charge_id: chargeId,
        },
      }),
    );
  }

  editSubscription(userId: number, chargeId: string, isCanceled: boolean): void {
    const sub = this.subscriptionOf(chargeId);
    if (!sub || sub.userId !== userId) throw badRequest('SUBSCRIPTION_NOT_FOUND');
    if (!sub.active) throw badRequest('SUBSCRIPTION_NOT_ACTIVE');
    sub.canceledByBot = isCanceled;
  }

  sendMessage(chatId: number, message: Pick<SentMessage, 'text' | 'parse_mode' | 'reply_markup'>): SentMessage {
    const person = this.people.get(chatId);
    if (!person) throw badRequest('chat not found');
    if (person.blocked) throw forbidden('bot was blocked by the user');
    const sent: SentMessage = {
      message_id: this.nextMessageId++,
      date: this.now(),
      chat: { id: chatId, type: 'private', first_name: person.user.first_name },
      from: this.botUser,
      ...message,
    };
    this.messages.push(sent);
    return sent;
  }

  /** The fault that answers this call instead, if one is armed. */
  takeFault(method: string): TelegramError | undefined {
    const i = this.faults.findIndex((f) => !f.method || f.method.toLowerCase() === method.toLowerCase());
    const fault = this.faults[i];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(i, 1);
    return new TelegramError(
      fault.errorCode,
      fault.description,
      fault.retryAfter === undefined ? undefined : { retry_after: fault.retryAfter },
    );
  }

  reset(): void {
    this.people.clear();
    this.invoices.clear();
    this.payments.clear();
    this.subscriptions.clear();
    this.messages.length = 0;
    this.faults.length = 0;
    this.delivery.clear();
    this.offsetSeconds = 0;
  }
}
