import { invalid } from './errors.ts';
import type { Subscription } from './objects.ts';
import { AUTOMATIC, addInterval, isLive, type StripeState, shallowDiff } from './state.ts';

const DAY = 86_400;
/** An incomplete subscription (first payment not made) expires after 23 hours, as on Stripe. */
export const INCOMPLETE_TTL = 23 * 3600;
/** Stripe sends `customer.subscription.trial_will_end` three days before a trial ends. */
export const TRIAL_WILL_END_BEFORE = 3 * DAY;

/**
 * The account's billing cycle in time: a clock that only moves forward (by the control API), and
 * everything that falls due as it moves: expiring sessions and incomplete subscriptions, trial
 * warnings, payment retries, renewals and ends at period end.
 */
export class BillingClock {
  /** Seconds the account's clock is ahead of the machine's. */
  offset = 0;
  /** Trialing subscriptions whose `trial_will_end` was sent. */
  readonly trialWillEndSent = new Set<string>();

  constructor(private readonly state: StripeState) {}

  now(): number {
    return Math.floor(Date.now() / 1000) + this.offset;
  }

  reset(): void {
    this.offset = 0;
    this.trialWillEndSent.clear();
  }

  /**
   * Moves the account's clock forward and runs everything that falls due, in time order:
   * expiring checkout sessions and incomplete subscriptions, payment retries, renewals (paid, or
   * `past_due` when the card fails) and ends of subscriptions set to cancel at period end.
   */
  advance(seconds: number): { now: number } {
    if (!Number.isFinite(seconds) || seconds < 0) throw invalid('`seconds` must be a non-negative number.', 'seconds');
    const target = this.now() + Math.floor(seconds);
    // Step through due moments one at a time so that multi-period jumps renew once per period.
    for (let guard = 0; guard < 10_000; guard++) {
      const next = this.nextDue(target);
      if (next === null) break;
      this.offset += Math.max(0, next - this.now());
      this.runDue();
    }
    this.offset += Math.max(0, target - this.now());
    this.runDue();
    return { now: this.now() };
  }

  private nextDue(limit: number): number | null {
    let next: number | null = null;
    const consider = (t: number | null) => {
      if (t !== null && t <= limit && (next === null || t < next)) next = t;
    };
    for (const s of this.state.checkoutSessions.values()) if (s.status === 'open') consider(s.expires_at);
    for (const sub of this.state.subscriptions.values()) {
      if (sub.status === 'trialing' && sub.trial_end !== null && !this.trialWillEndSent.has(sub.id)) {
        consider(Math.max(sub.created, sub.trial_end - TRIAL_WILL_END_BEFORE));
      }
      if (sub.status === 'incomplete') consider(sub.created + INCOMPLETE_TTL);
      else if (isLive(sub.status)) consider(sub.items.data[0]?.current_period_end ?? null);
    }
    for (const inv of this.state.invoices.values()) if (inv.status === 'open') consider(inv.next_payment_attempt);
    return next;
  }

  private runDue(): void {
    const now = this.now();
    for (const s of this.state.checkoutSessions.values()) {
      if (s.status === 'open' && s.expires_at <= now) this.state.checkout.expire(s.id, AUTOMATIC);
    }
    for (const inv of this.state.invoices.values()) {
      if (inv.status !== 'open' || inv.next_payment_attempt === null || inv.next_payment_attempt > now) continue;
      const sub = inv.parent ? this.state.subscriptions.get(inv.parent.subscription_details.subscription) : undefined;
      if (this.state.failingCards.has(inv.customer)) this.state.failPayment(inv, AUTOMATIC);
      else {
        this.state.payInvoice(inv, AUTOMATIC);
        if (sub && (sub.status === 'past_due' || sub.status === 'unpaid')) this.state.setSubscriptionStatus(sub, 'active', AUTOMATIC);
      }
    }
    for (const sub of this.state.subscriptions.values()) {
      if (
        sub.status === 'trialing' &&
        sub.trial_end !== null &&
        !this.trialWillEndSent.has(sub.id) &&
        sub.trial_end - TRIAL_WILL_END_BEFORE <= now
      ) {
        this.trialWillEndSent.add(sub.id);
        this.state.emit('customer.subscription.trial_will_end', sub, AUTOMATIC);
      }
      if (sub.status === 'incomplete' && sub.created + INCOMPLETE_TTL <= now) {
        this.state.cancelSubscription(sub.id, AUTOMATIC, 'payment_failed');
        continue;
      }
      if (!isLive(sub.status)) continue;
      const item = sub.items.data[0];
      if (!item || item.current_period_end > now) continue;
      if (sub.cancel_at_period_end || (sub.cancel_at !== null && sub.cancel_at <= now)) {
        this.state.cancelSubscription(sub.id, AUTOMATIC);
        continue;
      }
      this.renew(sub);
    }
  }

  private renew(sub: Subscription): void {
    const before = structuredClone(sub);
    for (const item of sub.items.data) {
      const interval = item.price.recurring?.interval ?? 'month';
      const count = item.price.recurring?.interval_count ?? 1;
      item.current_period_start = item.current_period_end;
      item.current_period_end = addInterval(item.current_period_end, interval, count);
    }
    const first = sub.items.data[0];
    if (!first) return;
    const prorations = this.state.takePendingProrations(sub.id);
    const invoice = this.state.createInvoice(sub, 'subscription_cycle', first.current_period_start, first.current_period_end, prorations);
    sub.latest_invoice = invoice.id;
    this.state.emit('customer.subscription.updated', sub, AUTOMATIC, shallowDiff(before as never, sub as never));
    this.state.emit('invoice.created', invoice, AUTOMATIC);
    this.state.finalizeInvoice(invoice, AUTOMATIC);
    if (this.state.failingCards.has(sub.customer) && invoice.amount_due > 0) this.state.failPayment(invoice, AUTOMATIC);
    else {
      this.state.payInvoice(invoice, AUTOMATIC);
      // The first charge at a trial's end starts the paid period.
      if (sub.status === 'trialing') this.state.setSubscriptionStatus(sub, 'active', AUTOMATIC);
    }
  }
}
