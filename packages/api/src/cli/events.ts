import { findEvent, listEvents, migrateDatabase, replayEvents } from '@miniapp-billing/billing-core';
import { openDatabase } from '../composition.ts';
import { ConfigError, parseEnv } from '../env.ts';

// `pnpm billing:events`: the stored Stripe events, for operators.
//   pnpm billing:events list [pending|failed|dead|processed|ignored] [--limit N]
//   pnpm billing:events show <evt_…>
//   pnpm billing:events replay <evt_…> | --all-dead
// Replay puts events back in the queue; a running worker applies them (re-reading Stripe, so a
// replay can never apply an old state over a newer one).
const STATUSES = ['pending', 'failed', 'dead', 'processed', 'ignored'] as const;
const usage =
  'usage: pnpm billing:events list [pending|failed|dead|processed|ignored] [--limit N] | show <evt_id> | replay <evt_id>… | replay --all-dead';

try {
  const env = parseEnv(process.env);
  const [command, ...args] = process.argv.slice(2);
  const database = await openDatabase(env, 'miniapp-billing-events');
  try {
    await migrateDatabase(database);
    if (command === 'list') {
      const status = args.find((a) => (STATUSES as readonly string[]).includes(a)) as (typeof STATUSES)[number] | undefined;
      const limitAt = args.indexOf('--limit');
      const limit = Math.min(1000, Math.max(1, Number(limitAt >= 0 ? args[limitAt + 1] : 50) || 50));
      for (const e of await listEvents(database.db, status, limit)) {
        console.log(
          [
            e.event_id,
            e.status,
            e.type,
            e.stripe_customer_id ?? '-',
            `attempts=${e.attempts}`,
            e.last_error ?? '',
            e.received_at.toISOString(),
          ]
            .join('\t')
            .trim(),
        );
      }
    } else if (command === 'show' && args[0]) {
      const event = await findEvent(database.db, args[0]);
      if (!event) {
        console.error(`no stored event ${args[0]}`);
        process.exitCode = 1;
      } else console.log(JSON.stringify(event, null, 2));
    } else if (command === 'replay' && args.length > 0) {
      const count = await replayEvents(
        database.db,
        database.queue,
        args[0] === '--all-dead' ? 'all-dead' : args.filter((a) => a.startsWith('evt_')),
      );
      console.log(`${count} event(s) queued again`);
    } else {
      console.error(usage);
      process.exitCode = 2;
    }
  } finally {
    await database.close();
  }
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `billing:events failed: ${(err as Error).message}`);
  process.exit(1);
}
