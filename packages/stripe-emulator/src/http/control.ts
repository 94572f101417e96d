import express, { type Response } from 'express';
import { invalid, StripeApiError } from '../errors.ts';
import { closeDispute, openDispute } from '../payments.ts';
import type { DeliveryAttempt } from '../webhooks.ts';
import type { EmulatorContext, Fault } from './context.ts';

/** The control API under `/_emulator` (JSON), for tests and demos: pay, fail cards, move time, inject faults. */
export function controlRouter(ctx: EmulatorContext): express.Router {
  const { state, dispatcher, requests, idempotency } = ctx;
  // ------------------------------------------------------------------ control API
  const control = express.Router();
  control.use(express.json({ limit: '64kb' }));
  const controlError = (res: Response, err: unknown) => {
    if (err instanceof StripeApiError) return res.status(err.status).json(err.toBody(res.locals.requestId as string));
    res.status(500).json({ error: { type: 'api_error', message: 'Control request failed.' } });
  };
  control.post('/checkout/sessions/:id/complete', (req, res) => {
    const body = (req.body ?? {}) as { outcome?: string; promotion_code?: unknown };
    const outcome = body.outcome ?? 'succeeded';
    if (outcome !== 'succeeded' && outcome !== 'card_declined') {
      return controlError(res, invalid('outcome must be "succeeded" or "card_declined"', 'outcome'));
    }
    if (body.promotion_code !== undefined && typeof body.promotion_code !== 'string') {
      return controlError(res, invalid('promotion_code must be a string', 'promotion_code'));
    }
    try {
      res.json(state.checkout.complete(req.params.id, outcome, body.promotion_code));
    } catch (err) {
      controlError(res, err);
    }
  });
  control.post('/customers/:id/card', (req, res) => {
    const fails = (req.body as { fails?: unknown } | undefined)?.fails;
    if (typeof fails !== 'boolean') return controlError(res, invalid('fails must be a boolean', 'fails'));
    try {
      state.setCardFails(req.params.id, fails);
      res.json({ customer: req.params.id, fails });
    } catch (err) {
      controlError(res, err);
    }
  });
  control.post('/charges/:id/dispute', (req, res) => {
    const reason = (req.body as { reason?: unknown } | undefined)?.reason ?? 'fraudulent';
    if (typeof reason !== 'string') return controlError(res, invalid('reason must be a string', 'reason'));
    try {
      res.json(openDispute(state, req.params.id, reason, { id: null, idempotency_key: null }));
    } catch (err) {
      controlError(res, err);
    }
  });
  control.post('/disputes/:id/close', (req, res) => {
    const outcome = (req.body as { outcome?: unknown } | undefined)?.outcome;
    if (outcome !== 'won' && outcome !== 'lost') return controlError(res, invalid('outcome must be "won" or "lost"', 'outcome'));
    try {
      res.json(closeDispute(state, req.params.id, outcome, { id: null, idempotency_key: null }));
    } catch (err) {
      controlError(res, err);
    }
  });
  control.post('/clock/advance', (req, res) => {
    const seconds = (req.body as { seconds?: unknown } | undefined)?.seconds;
    if (typeof seconds !== 'number') return controlError(res, invalid('seconds must be a number', 'seconds'));
    try {
      res.json(state.advanceClock(seconds));
    } catch (err) {
      controlError(res, err);
    }
  });
  control.get('/clock', (_req, res) => {
    res.json({ now: state.now() });
  });
  control.post('/faults', (req, res) => {
    const f = req.body as Partial<Fault> | undefined;
    if (!f || typeof f.path !== 'string' || (f.method !== undefined && typeof f.method !== 'string')) {
      return controlError(res, invalid('A fault needs a path (and optionally method).', 'path'));
    }
    const count = f.count ?? 1;
    if (!Number.isInteger(count) || count < 1) return controlError(res, invalid('count must be a positive integer', 'count'));
    if (f.status === undefined && f.delay_ms === undefined && !f.drop) {
      return controlError(res, invalid('A fault needs status, delay_ms or drop.', 'status'));
    }
    if (f.status !== undefined && (!Number.isInteger(f.status) || f.status < 400 || f.status > 599)) {
      return controlError(res, invalid('status must be an HTTP error status (400–599).', 'status'));
    }
    const fault: Fault = { method: (f.method ?? '*').toUpperCase(), path: f.path, count };
    if (f.status !== undefined) fault.status = f.status;
    if (f.delay_ms !== undefined) fault.delay_ms = Math.max(0, Number(f.delay_ms));
    if (f.drop) fault.drop = true;
    ctx.faults.push(fault);
    res.status(201).json(fault);
  });
  control.get('/faults', (_req, res) => {
    res.json({ data: ctx.faults });
  });
  control.delete('/faults', (_req, res) => {
    ctx.faults.length = 0;
    res.json({ deleted: true });
  });
  control.get('/requests', (_req, res) => {
    res.json({ data: requests });
  });
  control.delete('/requests', (_req, res) => {
    requests.length = 0;
    res.json({ deleted: true });
  });
  control.post('/reset', (_req, res) => {
    state.reset();
    ctx.faults.length = 0;
    requests.length = 0;
    idempotency.clear();
    dispatcher.reset();
    ctx.refreshTargets();
    res.json({ reset: true });
  });
  control.get('/webhooks/deliveries', (_req, res) => {
    res.json({ data: dispatcher.log satisfies DeliveryAttempt[] });
  });
  control.post('/webhooks/flush', async (_req, res) => {
    await dispatcher.idle();
    res.json({ idle: true });
  });
  return control;
}
