import { invalid, missing } from './errors.ts';
import type { Coupon, CouponDuration, Discount, Invoice, Metadata, PromotionCode } from './objects.ts';
import { addInterval, newId, type RequestRef, type StripeState } from './state.ts';

/**
 * Coupons, promotion codes and the discounts they become: percent or amount off, once, for some
 * months or forever, redeemed on a subscription (directly or through Checkout) and applied to each
 * invoice while they last.
 */

export function createCoupon(
  state: StripeState,
  input: {
    id?: string | undefined;
    percent_off?: number | undefined;
    amount_off?: number | undefined;
    currency?: string | undefined;
    duration?: CouponDuration | undefined;
    duration_in_months?: number | undefined;
    name?: string | undefined;
    max_redemptions?: number | undefined;
    redeem_by?: number | undefined;
    metadata?: Metadata | undefined;
  },
  request: RequestRef,
): Coupon {
  if ((input.percent_off === undefined) === (input.amount_off === undefined)) {
    throw invalid(
      'You must pass exactly one of percent_off or amount_off.',
      input.percent_off === undefined ? 'percent_off' : 'amount_off',
    );
  }
  if (input.percent_off !== undefined && (input.percent_off <= 0 || input.percent_off > 100)) {
    throw invalid('percent_off must be greater than 0 and at most 100.', 'percent_off');
  }
  if (input.amount_off !== undefined && !input.currency) throw invalid('You must pass currency when passing amount_off.', 'currency');
  const duration = input.duration ?? 'once';
  if (duration === 'repeating' && !input.duration_in_months) {
    throw invalid('You must pass duration_in_months when duration is repeating.', 'duration_in_months');
  }
  if (duration !== 'repeating' && input.duration_in_months !== undefined) {
    throw invalid('duration_in_months can only be passed when duration is repeating.', 'duration_in_months');
  }
  const id = input.id ?? newId('').slice(1, 9);
  if (state.coupons.has(id)) throw invalid(`Coupon already exists.`, 'id');
  const coupon: Coupon = {
    id,
    object: 'coupon',
    amount_off: input.amount_off ?? null,
    created: state.now(),
    currency: input.currency?.toLowerCase() ?? null,
    duration,
    duration_in_months: input.duration_in_months ?? null,
    livemode: false,
    max_redemptions: input.max_redemptions ?? null,
    metadata: input.metadata ?? {},
    name: input.name ?? null,
    percent_off: input.percent_off ?? null,
    redeem_by: input.redeem_by ?? null,
    times_redeemed: 0,
    valid: true,
  };
  state.coupons.set(id, coupon);
  state.emit('coupon.created', coupon, request);
  return coupon;
}

export function getCoupon(state: StripeState, id: string, param = 'coupon'): Coupon {
  const coupon = state.coupons.get(id);
  if (!coupon) throw missing('coupon', id, param);
  return coupon;
}

export function deleteCoupon(state: StripeState, id: string, request: RequestRef) {
  const coupon = getCoupon(state, id, 'id');
  state.coupons.delete(id);
  coupon.valid = false;
  state.emit('coupon.deleted', coupon, request);
  return { id, object: 'coupon' as const, deleted: true as const };
}

export function createPromotionCode(
  state: StripeState,
  input: {
    coupon: string;
    code?: string | undefined;
    active?: boolean | undefined;
    customer?: string | undefined;
    expires_at?: number | undefined;
    max_redemptions?: number | undefined;
    first_time_transaction?: boolean | undefined;
    minimum_amount?: number | undefined;
    minimum_amount_currency?: string | undefined;
    metadata?: Metadata | undefined;
  },
  request: RequestRef,
): PromotionCode {
  getCoupon(state, input.coupon, 'promotion[coupon]');
  if (input.customer) state.getCustomer(input.customer, 'customer');
  const code = input.code ?? newId('').slice(1, 9).toUpperCase();
  if (!/^[A-Za-z0-9-]{1,500}$/.test(code)) {
    throw invalid('A promotion code may contain only letters, digits and dashes.', 'code');
  }
  const taken = [...state.promotionCodes.values()].some((p) => p.active && p.code.toLowerCase() === code.toLowerCase());
  if (taken) throw invalid(`An active promotion code with \`code: ${code}\` already exists.`, 'code');
  const promo: PromotionCode = {
    id: newId('promo'),
    object: 'promotion_code',
    active: input.active ?? true,
    code,
    created: state.now(),
    customer: input.customer ?? null,
    customer_account: null,
    expires_at: input.expires_at ?? null,
    livemode: false,
    max_redemptions: input.max_redemptions ?? null,
    metadata: input.metadata ?? {},
    promotion: { coupon: input.coupon, type: 'coupon' },
    restrictions: {
      first_time_transaction: input.first_time_transaction ?? false,
      minimum_amount: input.minimum_amount ?? null,
      minimum_amount_currency: input.minimum_amount_currency ?? null,
    },
    times_redeemed: 0,
  };
  state.promotionCodes.set(promo.id, promo);
  state.emit('promotion_code.created', promo, request);
  return promo;
}

export function getPromotionCode(state: StripeState, id: string, param = 'promotion_code'): PromotionCode {
  const promo = state.promotionCodes.get(id);
  if (!promo) throw missing('promotion_code', id, param);
  return promo;
}

export function findPromotionCodeByCode(state: StripeState, code: string): PromotionCode | undefined {
  return [...state.promotionCodes.values()].find((p) => p.active && p.code.toLowerCase() === code.toLowerCase());
}

/** What a subscription or session asks to redeem: `{coupon}` or `{promotion_code}`. */
export interface DiscountRequest {
  coupon?: string | undefined;
  promotion_code?: string | undefined;
}

/**
 * Checks that a coupon or promotion code may be redeemed now by `customer` on an amount of `amount`
 * (Stripe's messages), and returns the coupon and code.
 */
export function checkRedeemable(
  state: StripeState,
  req: DiscountRequest,
  customer: string | null,
  amount: number,
  param: string,
): { coupon: Coupon; promo: PromotionCode | null } {
  const now = state.now();
  let promo: PromotionCode | null = null;
  let couponId = req.coupon;
  if (req.promotion_code) {
    promo = getPromotionCode(state, req.promotion_code, param);
    const unusable = (why: string) => invalid(`This promotion code cannot be redeemed because ${why}.`, param);
    if (!promo.active) throw unusable('it is inactive');
    if (promo.expires_at !== null && promo.expires_at <= now) throw unusable('it has expired');
    if (promo.max_redemptions !== null && promo.times_redeemed >= promo.max_redemptions) throw unusable('it has been fully redeemed');
    if (promo.customer && promo.customer !== customer) throw unusable('it is restricted to another customer');
    if (promo.restrictions.minimum_amount !== null && amount < promo.restrictions.minimum_amount) {
      throw unusable('the order does not meet its minimum amount');
    }
    if (promo.restrictions.first_time_transaction && customer && hasPaid(state, customer)) {
      throw unusable('it is for first-time customers only');
    }
    couponId = promo.promotion.coupon;
  }
  if (!couponId) throw invalid('A discount needs a coupon or a promotion_code.', param);
  const coupon = getCoupon(state, couponId, param);
  if (!coupon.valid || (coupon.redeem_by !== null && coupon.redeem_by <= now)) {
    throw invalid(`Coupon expired: ${coupon.id}`, param);
  }
  if (coupon.max_redemptions !== null && coupon.times_redeemed >= coupon.max_redemptions) {
    throw invalid(`Coupon ${coupon.id} has been fully redeemed.`, param);
  }
  return { coupon, promo };
}

const hasPaid = (state: StripeState, customer: string) =>
  [...state.invoices.values()].some((i) => i.customer === customer && i.status === 'paid' && i.amount_paid > 0);

/** Redeems on a subscription: a Discount object, counted on its coupon and code. */
export function redeem(
  state: StripeState,
  target: { coupon: Coupon; promo: PromotionCode | null },
  on: { customer: string; subscription: string; checkout_session?: string | null },
  request: RequestRef,
): Discount {
  const start = state.now();
  const { coupon, promo } = target;
  const discount: Discount = {
    id: newId('di'),
    object: 'discount',
    checkout_session: on.checkout_session ?? null,
    customer: on.customer,
    customer_account: null,
    end: coupon.duration === 'repeating' && coupon.duration_in_months ? addInterval(start, 'month', coupon.duration_in_months) : null,
    invoice: null,
    invoice_item: null,
    promotion_code: promo?.id ?? null,
    source: { coupon: coupon.id, type: 'coupon' },
    start,
    subscription: on.subscription,
    subscription_item: null,
  };
  state.discounts.set(discount.id, discount);
  coupon.times_redeemed += 1;
  if (promo) promo.times_redeemed += 1;
  state.emit('customer.discount.created', discount, request);
  return discount;
}

/** The amount a coupon takes off `amount`. */
export function discountAmount(coupon: Coupon, amount: number): number {
  if (amount <= 0) return 0;
  if (coupon.percent_off !== null) return Math.round((amount * coupon.percent_off) / 100);
  return Math.min(amount, coupon.amount_off ?? 0);
}

/**
 * Applies a subscription's discounts to a new invoice (its discountable lines: not prorations),
 * then drops a `once` discount after its first invoice and ends a `repeating` one after its months.
 */
export function applyDiscounts(state: StripeState, invoice: Invoice, discountIds: string[]): string[] {
  const kept: string[] = [];
  for (const id of discountIds) {
    const discount = state.discounts.get(id);
    const coupon = discount ? state.coupons.get(discount.source.coupon) : undefined;
    if (!discount || !coupon) continue;
    if (discount.end !== null && discount.end <= invoice.period_start) continue;
    const base = invoice.lines.data.filter((l) => l.discountable).reduce((sum, l) => sum + l.amount, 0);
    // Nothing to take off (a trial's $0 invoice): the discount waits for the first real charge.
    if (base <= 0) {
      kept.push(id);
      continue;
    }
    let left = discountAmount(coupon, base);
    for (const line of invoice.lines.data) {
      if (!line.discountable || left <= 0) continue;
      const share = base > 0 ? Math.min(left, Math.round((discountAmount(coupon, base) * line.amount) / base)) : 0;
      line.discount_amounts.push({ amount: share, discount: discount.id });
      line.discounts.push(discount.id);
      left -= share;
    }
    const amount = invoice.lines.data.reduce((sum, l) => sum + (l.discount_amounts.find((d) => d.discount === id)?.amount ?? 0), 0);
    invoice.total_discount_amounts.push({ amount, discount: discount.id });
    invoice.discounts.push(discount.id);
    invoice.total -= amount;
    invoice.total_excluding_tax = invoice.total;
    invoice.amount_due = Math.max(0, invoice.total);
    invoice.amount_remaining = invoice.amount_due;
    if (coupon.duration !== 'once') kept.push(id);
    else discount.end = state.now();
  }
  return kept;
}
