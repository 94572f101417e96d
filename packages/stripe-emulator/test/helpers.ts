import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Stripe from 'stripe';
import { type EmulatorOptions, type RunningEmulator, startEmulator } from '../src/index.ts';
import { emulatorControl, sdkFor } from '../src/testing.ts';

export const SECRET = 'whsec_test_emulator_secret';

export function sdk(emulator: RunningEmulator, options: Stripe.StripeConfig = {}): Stripe {
  return sdkFor(emulator, options);
}

export interface Receiver {
  url: string;
  /** The secret deliveries are verified with; settable once the endpoint is created. */
  secret: string;
  events: Stripe.Event[];
  /** Statuses to answer with, consumed in order; 200 once empty. */
  failNext: number[];
  close(): Promise<void>;
}

/** A webhook endpoint that verifies every delivery with the SDK's own `constructEvent`. */
export async function receiver(stripe: Stripe, secret = SECRET): Promise<Receiver> {
  const events: Stripe.Event[] = [];
  const failNext: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = failNext.shift();
      if (status) {
        res.writeHead(status).end();
        return;
      }
      try {
        const event = stripe.webhooks.constructEvent(Buffer.concat(chunks), String(req.headers['stripe-signature']), self.secret);
        events.push(event);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const self: Receiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    secret,
    events,
    failNext,
    close: () => new Promise((r) => server.close(() => r())),
  };
  return self;
}

export async function withEmulator(options: EmulatorOptions = {}) {
  const emulator = await startEmulator({ port: 0, webhookOptions: { retryDelaysMs: [20, 40, 80] }, ...options });
  return { emulator, stripe: sdk(emulator) };
}

export function control(emulator: RunningEmulator, method: string, path: string, body?: unknown) {
  return emulatorControl(emulator, method, path, body);
}

/** A raw `/v1` request with a form body (or query), as any HTTP client would send it. */
export async function raw(
  emulator: RunningEmulator,
  method: string,
  path: string,
  form = '',
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const hasBody = method === 'POST';
  const res = await fetch(`${emulator.url}${path}${!hasBody && form ? `?${form}` : ''}`, {
    method,
    headers: { authorization: 'Bearer sk_test_raw', 'content-type': 'application/x-www-form-urlencoded', ...headers },
    ...(hasBody ? { body: form } : {}),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}
