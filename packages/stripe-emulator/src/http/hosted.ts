import express from 'express';
import { StripeApiError } from '../errors.ts';
import { checkoutPage, invoicePage, messagePage, portalPage, receiptPage } from '../pages.ts';
import { renderInvoicePdf } from '../pdf.ts';
import { isLive } from '../state.ts';
import type { EmulatorContext } from './context.ts';

/** The pages Stripe hosts: Checkout, the customer portal, invoices and their PDFs. */
export function hostedRouter({ state }: EmulatorContext): express.Router {
  // ------------------------------------------------------------------ hosted pages
  const pages = express.Router();
  pages.use(express.urlencoded({ extended: false, limit: '64kb' }));
  const productName = (productId: string) => state.products.get(productId)?.name ?? 'Plan';
  const checkoutLines = (sessionId: string) =>
    state.checkout.lineItemsOf(sessionId).map((l) => ({ price: l.price, productName: productName(l.price.product), quantity: l.quantity }));

  pages.get('/checkout/:id', (req, res) => {
    const session = state.checkoutSessions.get(req.params.id);
    if (!session) return res.status(404).type('html').send(messagePage('Not found', 'This checkout session does not exist.'));
    if (session.status === 'open' && session.expires_at <= state.now())
      state.checkout.expire(session.id, { id: null, idempotency_key: null });
    res.type('html').send(checkoutPage(session, checkoutLines(session.id)));
  });
  pages.post('/checkout/:id/pay', (req, res) => {
    const session = state.checkoutSessions.get(req.params.id);
    if (!session) return res.status(404).type('html').send(messagePage('Not found', 'This checkout session does not exist.'));
    const card = String((req.body as Record<string, unknown>)?.card ?? '').replace(/\s+/g, '');
    try {
      const email = String((req.body as Record<string, unknown>)?.email ?? '').trim();
      if (email && !session.customer && !session.customer_email) session.customer_email = email;
      const code = String((req.body as Record<string, unknown>)?.promotion_code ?? '').trim();
      const done = state.checkout.complete(session.id, card === '4000000000000002' ? 'card_declined' : 'succeeded', code || undefined);
      if (done.status !== 'complete') {
        return res
          .status(402)
          .type('html')
          .send(checkoutPage(done, checkoutLines(done.id), 'Your card was declined. Try another card.'));
      }
      const target = (done.success_url ?? '').replaceAll('{CHECKOUT_SESSION_ID}', done.id);
      if (!target) return res.type('html').send(messagePage('Payment complete', 'Thanks! You can close this page.'));
      res.redirect(303, target);
    } catch (err) {
      const message = err instanceof StripeApiError ? err.message : 'Something went wrong.';
      res
        .status(400)
        .type('html')
        .send(checkoutPage(session, checkoutLines(session.id), message));
    }
  });

  const portalView = (sessionId: string, notice?: string) => {
    const session = state.portalSessions.get(sessionId);
    if (!session) return null;
    const subs = [...state.subscriptions.values()]
      .filter((s) => s.customer === session.customer && isLive(s.status))
      .map((sub) => ({ sub, productName: productName(sub.items.data[0]?.price.product ?? '') }));
    const prices = [...state.prices.values()]
      .filter((p) => p.active && p.type === 'recurring')
      .map((price) => ({ price, productName: productName(price.product) }));
    const invoices = [...state.invoices.values()].filter((i) => i.customer === session.customer && i.status !== 'draft').reverse();
    return portalPage(session, subs, prices, invoices, notice);
  };
  pages.get('/portal/:id', (req, res) => {
    const html = portalView(req.params.id);
    if (!html) return res.status(404).type('html').send(messagePage('Not found', 'This portal session does not exist.'));
    res.type('html').send(html);
  });
  pages.post('/portal/:id/subscriptions/:sub/:action', (req, res) => {
    const session = state.portalSessions.get(req.params.id);
    const sub = state.subscriptions.get(req.params.sub);
    if (!session || !sub || sub.customer !== session.customer) {
      return res.status(404).type('html').send(messagePage('Not found', 'This subscription is not part of this portal session.'));
    }
    const who = { id: null, idempotency_key: null };
    try {
      let notice = '';
      switch (req.params.action) {
        case 'cancel':
          state.updateSubscription(sub.id, { cancel_at_period_end: true }, who);
          notice = 'Your plan will be canceled at the end of the billing period.';
          break;
        case 'resume':
          state.updateSubscription(sub.id, { cancel_at_period_end: false }, who);
          notice = 'Your plan will renew.';
          break;
        case 'update': {
          const price = String((req.body as Record<string, unknown>)?.price ?? '');
          state.updateSubscription(sub.id, { items: [{ id: sub.items.data[0]?.id, price }], proration_behavior: 'always_invoice' }, who);
          notice = 'Your plan was updated.';
          break;
        }
        default:
          return res.status(404).type('html').send(messagePage('Not found', 'Unknown action.'));
      }
      res.type('html').send(portalView(session.id, notice));
    } catch (err) {
      const message = err instanceof StripeApiError ? err.message : 'Something went wrong.';
      res.status(400).type('html').send(portalView(session.id, message));
    }
  });
  pages.get('/invoices/:id', (req, res) => {
    const invoice = state.invoices.get(req.params.id);
    if (!invoice) return res.status(404).type('html').send(messagePage('Not found', 'This invoice does not exist.'));
    res.type('html').send(invoicePage(invoice));
  });
  // A charge's receipt_url: the receipt of the invoice it paid.
  pages.get('/receipts/:id', (req, res) => {
    const invoice = state.invoices.get(req.params.id);
    const chargeId = invoice ? state.invoiceCharges.get(invoice.id) : undefined;
    const charge = chargeId ? state.charges.get(chargeId) : undefined;
    if (!invoice || !charge) return res.status(404).type('html').send(messagePage('Not found', 'This receipt does not exist.'));
    res.type('html').send(receiptPage(invoice, charge));
  });
  pages.get('/invoices/:id/pdf', async (req, res, next) => {
    const invoice = state.invoices.get(req.params.id);
    if (!invoice) return res.status(404).type('text').send('Invoice not found');
    try {
      const pdf = await renderInvoicePdf(invoice);
      res.type('application/pdf').setHeader('Content-Disposition', `inline; filename="${invoice.number ?? invoice.id}.pdf"`);
      res.send(pdf);
    } catch (err) {
      next(err);
    }
  });

  return pages;
}
