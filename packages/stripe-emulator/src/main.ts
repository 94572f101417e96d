import { realismFromEnv, STRIPE_LIKE, startEmulator } from './index.ts';

// The standalone emulator (`pnpm emulator`). Configuration comes from the environment:
//   STRIPE_EMULATOR_PORT         port to listen on (default 12111)
//   STRIPE_EMULATOR_WEBHOOK_URL  where to deliver webhooks (none when unset)
//   STRIPE_WEBHOOK_SECRET        the whsec_… secret deliveries are signed with
//   STRIPE_EMULATOR_LATENCY_MS, STRIPE_EMULATOR_RATE_LIMIT, STRIPE_EMULATOR_WEBHOOK_CONCURRENCY,
//   STRIPE_EMULATOR_WEBHOOK_JITTER_MS   Stripe's time and load (src/realism.ts); Stripe-like by default
const env = process.env;
const port = Number(env.STRIPE_EMULATOR_PORT ?? 12111);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`STRIPE_EMULATOR_PORT must be a port number, got "${env.STRIPE_EMULATOR_PORT}"`);
  process.exit(1);
}
const webhookUrl = env.STRIPE_EMULATOR_WEBHOOK_URL;
const secret = env.STRIPE_WEBHOOK_SECRET?.split(',')[0]?.trim();
if (webhookUrl && !secret) {
  console.error('STRIPE_EMULATOR_WEBHOOK_URL is set: STRIPE_WEBHOOK_SECRET must be set too (whsec_…).');
  process.exit(1);
}

let realism: ReturnType<typeof realismFromEnv>;
try {
  realism = realismFromEnv(env, STRIPE_LIKE);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}

const emulator = await startEmulator({
  port,
  realism,
  ...(webhookUrl && secret ? { webhook: { url: webhookUrl, secret } } : {}),
  log: (line) => console.log(line),
});
console.log(`Stripe emulator listening on ${emulator.url}`);
console.log(`  SDK: new Stripe('sk_test_…', { host: '127.0.0.1', port: ${emulator.port}, protocol: 'http' })`);
console.log(webhookUrl ? `  webhooks → ${webhookUrl}` : '  webhooks: none (set STRIPE_EMULATOR_WEBHOOK_URL)');

const stop = async () => {
  await emulator.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
