import { invalid, missing } from './errors.ts';
import type { Charge, Dispute, Invoice, Metadata, Refund } from './objects.ts';
import { newId, type RequestRef, type StripeState } from './state.ts';

/**
 * Money that moved: a charge for every paid invoice (with its payment intent id), refunds of it
 * (`charge.refunded`), and disputes opened and closed through the control API (`charge.dispute.*`).
 */

export interface InvoicePayment {
  id: string;
  object: 'invoice_payment';
  amount_paid: number;
  amount_requested: number;
  created: number;
  currency: string;
  invoice: string;
  is_default: boolean;
  livemode: false;
  payment: { type: 'payment_intent'; payment_intent: string; charge: string };
  status: 'paid';
  status_transitions: { canceled_at: null; paid_at: number };
}

/** The payment intent Stripe creates when an invoice is finalized (its id, made once). */
export function paymentIntentIdOf(state: StripeState, invoiceId: string): string {
  let id = state.invoicePaymentIntents.get(invoiceId);
  if (!id) {
    id = newId('pi');
    state.invoicePaymentIntents.set(invoiceId, id);
  }
  return id;
}

/** `confirmation_secret` of an invoice (only when expanded): the client secret of its payment intent. */
export function confirmationSecretOf(state: StripeState, invoice: Invoice): { client_secret: string; type: 'payment_intent' } | null {
  if (invoice.status === 'draft') return null;
  const pi = paymentIntentIdOf(state, invoice.id);
  return { client_secret: `${pi}_secret_${invoice.id.slice(3, 19)}`, type: 'payment_intent' };
}

/** A payment intent as Stripe shows it, from the invoice it pays and the charge that paid it. */
export function paymentIntent(state: StripeState, id: string) {
  const invoiceId = [...state.invoicePaymentIntents.entries()].find(([, pi]) => pi === id)?.[0];
  const invoice = invoiceId ? state.invoices.get(invoiceId) : undefined;
  if (!invoice) throw missing('payment_intent', id, 'intent');
  const chargeId = state.invoiceCharges.get(invoice.id);
  const charge = chargeId ? state.charges.get(chargeId) : undefined;
  const status =
    invoice.status === 'paid'
      ? 'succeeded'
      : invoice.status === 'void'
        ? 'canceled'
        : invoice.attempted
          ? 'requires_payment_method'
          : 'requires_confirmation';
  return {
    id,
    object: 'payment_intent' as const,
    allowed_payment_method_types: null,
    amount: invoice.amount_due,
    amount_capturable: 0,
    amount_received: charge?.amount ?? 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: invoice.status === 'void' ? invoice.status_transitions.voided_at : null,
    cancellation_reason: invoice.status === 'void' ? ('void_invoice' as const) : null,
    capture_method: 'automatic' as const,
    client_secret: confirmationSecretOf(state, invoice)?.client_secret ?? null,
    confirmation_method: 'automatic' as const,
    created: invoice.status_transitions.finalized_at ?? invoice.created,
    currency: invoice.currency,
    customer: invoice.customer,
    customer_account: null,
    description: invoice.billing_reason === 'subscription_create' ? 'Subscription creation' : 'Subscription update',
    excluded_payment_method_types: null,
    last_payment_error:
      invoice.status === 'open' && invoice.attempted
        ? { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' }
        : null,
    latest_charge: charge?.id ?? null,
    livemode: false,
    managed_payments: null,
    metadata: {},
    next_action: null,
    on_behalf_of: null,
    payment_method: charge?.payment_method ?? null,
    payment_method_configuration_details: null,
    payment_method_options: null,
    payment_method_types: ['card'],
    payment_record: null,
    processing: null,
    receipt_email: charge?.receipt_email ?? null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status,
    transfer_group: null,
  };
}

/** The links a 2023-shaped invoice shows (`payment_intent`, `charge`), for `renderAt`. */
export function linksOf(state: StripeState) {
  return {
    paymentIntentOf: (invoiceId: string) => (state.invoices.has(invoiceId) ? paymentIntentIdOf(state, invoiceId) : null),
    chargeOf: (invoiceId: string) => state.invoiceCharges.get(invoiceId) ?? null,
  };
}

/** Records the successful card charge that paid `invoice`. */
export function recordCharge(state: StripeState, invoice: Invoice, request: RequestRef): Charge | undefined {
  if (invoice.amount_paid <= 0) return undefined;
  const customer = state.customers.get(invoice.customer);
  const charge: Charge = {
    id: newId('ch'),
    object: 'charge',
    amount: invoice.amount_paid,
    amount_captured: invoice.amount_paid,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: newId('txn'),
    billing_details: { address: null, email: customer?.email ?? null, name: customer?.name ?? null, phone: null, tax_id: null },
    calculated_statement_descriptor: 'MINIAPP BILLING',
    captured: true,
    created: state.now(),
    currency: invoice.currency,
    customer: invoice.customer,
    description: invoice.billing_reason === 'subscription_create' ? 'Subscription creation' : 'Subscription update',
    disputed: false,
    failure_balance_transaction: null,
    failure_code: null,
    failure_message: null,
    fraud_details: {},
    livemode: false,
    metadata: {},
    on_behalf_of: null,
    outcome: {
      network_status: 'approved_by_network',
      reason: null,
      risk_level: 'normal',
      seller_message: 'Payment complete.',
      type: 'authorized',
    },
    paid: true,
    payment_intent: paymentIntentIdOf(state, invoice.id),
    payment_method: newId('pm'),
    payment_method_details: { type: 'card', card: { brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2034, funding: 'credit' } },
    receipt_email: customer?.email ?? null,
    receipt_number: null,
    receipt_url: `${state.publicUrl()}/receipts/${invoice.id}`,
    refunded: false,
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: 'succeeded',
    transfer_data: null,
    transfer_group: null,
  };
  state.charges.set(charge.id, charge);
  state.invoiceCharges.set(invoice.id, charge.id);
  state.emit('charge.succeeded', charge, request);
  return charge;
}

export function getCharge(state: StripeState, id: string, param = 'charge'): Charge {
  const charge = state.charges.get(id);
  if (!charge) throw missing('charge', id, param);
  return charge;
}

/** `invoice_payments`: how each paid invoice was paid. */
export function invoicePayments(state: StripeState, invoiceId: string): InvoicePayment[] {
  const invoice = state.invoices.get(invoiceId);
  const chargeId = state.invoiceCharges.get(invoiceId);
  const charge = chargeId ? state.charges.get(chargeId) : undefined;
  if (!invoice || !charge) return [];
  return [
    {
      id: `inpay_${invoice.id.slice(3)}`,
      object: 'invoice_payment',
      amount_paid: charge.amount,
      amount_requested: charge.amount,
      created: charge.created,
      currency: charge.currency,
      invoice: invoice.id,
      is_default: true,
      livemode: false,
      payment: { type: 'payment_intent', payment_intent: charge.payment_intent as string, charge: charge.id },
      status: 'paid',
      status_transitions: { canceled_at: null, paid_at: charge.created },
    },
  ];
}

export function createRefund(
  state: StripeState,
  input: {
    charge?: string | undefined;
    payment_intent?: string | undefined;
    amount?: number | undefined;
    reason?: Refund['reason'] | undefined;
    metadata?: Metadata | undefined;
  },
  request: RequestRef,
): Refund {
  if (!input.charge && !input.payment_intent)
    throw invalid('One of the following params should be provided for this request: charge or payment_intent.');
  const charge = input.charge
    ? getCharge(state, input.charge)
    : [...state.charges.values()].find((c) => c.payment_intent === input.payment_intent);
  if (!charge) throw missing('payment_intent', input.payment_intent as string, 'payment_intent');
  const left = charge.amount - charge.amount_refunded;
  if (left <= 0) throw invalid(`Charge ${charge.id} has already been refunded.`, 'charge');
  const amount = input.amount ?? left;
  if (amount <= 0 || amount > left) {
    throw invalid(`Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`, 'amount');
  }
  if (charge.disputed) throw invalid(`Charge ${charge.id} has been charged back; cannot issue a refund.`, 'charge');
  const refund: Refund = {
    id: newId('re'),
    object: 'refund',
    amount,
    balance_transaction: newId('txn'),
    charge: charge.id,
    created: state.now(),
    currency: charge.currency,
    customer: charge.customer,
    customer_account: null,
    metadata: input.metadata ?? {},
    payment_intent: charge.payment_intent,
    payment_method: charge.payment_method,
    reason: input.reason ?? null,
    receipt_number: null,
    source_transfer_reversal: null,
    status: 'succeeded',
    transfer_reversal: null,
  };
  state.refunds.set(refund.id, refund);
  const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
  charge.amount_refunded += amount;
  charge.refunded = charge.amount_refunded >= charge.amount;
  state.emit('refund.created', refund, request);
  state.emit('charge.refunded', charge, request, previous);
  return refund;
}

export function getRefund(state: StripeState, id: string): Refund {
  const refund = state.refunds.get(id);
  if (!refund) throw missing('refund', id, 'id');
  return refund;
}

/** Control API: the cardholder disputes a charge (`charge.dispute.created`). */
export function openDispute(state: StripeState, chargeId: string, reason: string, request: RequestRef): Dispute {
  const charge = getCharge(state, chargeId);
  if (charge.disputed) throw invalid(`Charge ${charge.id} is already disputed.`, 'charge');
  const created = state.now();
  const dispute: Dispute = {
    id: newId('du'),
    object: 'dispute',
    amount: charge.amount - charge.amount_refunded,
    balance_transactions: [],
    charge: charge.id,
    created,
    currency: charge.currency,
    enhanced_eligibility_types: [],
    evidence: {},
    evidence_details: { due_by: created + 7 * 86_400, has_evidence: false, past_due: false, submission_count: 0, enhanced_eligibility: {} },
    intended_submission_method: null,
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: charge.payment_intent,
    reason,
    status: 'needs_response',
  };
  state.disputes.set(dispute.id, dispute);
  charge.disputed = true;
  state.emit('charge.dispute.created', dispute, request);
  return dispute;
}

/** Control API: the bank decides (`charge.dispute.closed`, status won or lost). */
export function closeDispute(state: StripeState, id: string, outcome: 'won' | 'lost', request: RequestRef): Dispute {
  const dispute = state.disputes.get(id);
  if (!dispute) throw missing('dispute', id, 'id');
  if (dispute.status === 'won' || dispute.status === 'lost') throw invalid(`Dispute ${id} is already closed.`);
  const previous = { status: dispute.status };
  dispute.status = outcome;
  state.emit('charge.dispute.closed', dispute, request, previous);
  return dispute;
}
