import { type BillingState, billingState, findUserForOperator, migrateDatabase } from '@miniapp-billing/billing-core';
import { cliBillingDeps, openDatabase } from '../composition.ts';
import { ConfigError, parseEnv } from '../env.ts';

// `pnpm billing:user <user id | telegram id | email | cus_…> [--json] [--no-stripe]`: one person's
// whole billing state for an operator: what they see now and why, the mirror and Stripe side by
// side with every difference named, recent events and their outcomes, payments back, notices sent.
// The same JSON answers `GET /api/v1/admin/users/{id}` (admin scope).
const usage = 'usage: pnpm billing:user <user id | telegram id | email | cus_…> [--json] [--no-stripe]';

const date = (iso: string | null) => (iso ? iso.replace('T', ' ').slice(0, 16) : '-');

/** The state as an operator reads it in a terminal. */
export function formatBillingState(s: BillingState): string {
  const out: string[] = [];
  const u = s.user;
  const e = s.now.entitlements;
  out.push(`${u.name} (${u.id})`);
  out.push(
    `  telegram ${u.telegram_id ?? '-'} · email ${u.email ?? '-'} · platform ${u.platform_subject ?? '-'} · customer ${s.stripe_customer_id ?? '-'}${u.bot_blocked ? ' · blocked the bot' : ''}`,
  );
  out.push('', 'Now');
  out.push(
    `  ${s.now.subscription.plan_name} · ${s.now.subscription.status} · access ${e.has_access ? `until ${date(e.access_until)}` : 'none'} · rail ${e.rail ?? '-'}${
      s.now.subscription.cancel_at_period_end ? ' · cancels at period end' : ''
    }`,
  );
  out.push(`  entitlements of ${e.plan_id}${e.flags.length ? ` · flags ${e.flags.join(', ')}` : ''}`);
  out.push('', 'Subscriptions (mirror | Stripe)');
  const remote = new Map((s.stripe?.subscriptions ?? []).map((r) => [r.id, r]));
  const ids = [...new Set([...s.mirror.subscriptions.map((m) => m.id), ...remote.keys()])];
  if (ids.length === 0) out.push('  none');
  for (const id of ids) {
    const m = s.mirror.subscriptions.find((x) => x.id === id);
    const r = remote.get(id);
    out.push(
      `  ${id}  ${m ? `${m.plan_id ?? '?'} ${m.status}${m.cancel_at_period_end ? ' (cancels)' : ''} to ${date(m.current_period_end)}` : 'missing'} | ${r ? r.status : s.stripe ? 'missing' : 'not read'}`,
    );
  }
  for (const st of s.mirror.star_subscriptions)
    out.push(
      `  stars ${st.plan_id} ${st.amount} XTR to ${date(st.expires_at)}${st.canceled ? ' (cancels)' : ''}${st.refunded ? ' refunded' : ''}`,
    );
  if (s.stripe?.error) out.push(`  Stripe could not be read: ${s.stripe.error}`);
  out.push('', s.differences.length ? 'Differences' : 'Differences: none');
  for (const d of s.differences) out.push(`  ! ${d}`);
  out.push('', 'Invoices');
  if (s.mirror.invoices.length === 0) out.push('  none');
  for (const i of s.mirror.invoices)
    out.push(
      `  ${i.number ?? i.id}  ${(i.amount_paid / 100).toFixed(2)} ${i.currency} paid of ${(i.amount_due / 100).toFixed(2)} · ${i.status}`,
    );
  if (s.mirror.payments.length) out.push('', 'Payments back');
  for (const p of s.mirror.payments)
    out.push(
      `  ${p.charge_id}  refunded ${(p.amount_refunded / 100).toFixed(2)} of ${(p.amount / 100).toFixed(2)} ${p.currency}${p.dispute_status ? ` · dispute ${p.dispute_status}` : ''} · ${p.access_ended ? `access ended (${p.access_ended})` : 'access kept'}`,
    );
  out.push('', 'Recent events');
  if (s.events.length === 0) out.push('  none');
  for (const ev of s.events)
    out.push(
      `  ${date(ev.received_at)}  ${ev.type}  ${ev.status}${ev.attempts > 1 ? ` after ${ev.attempts} attempts` : ''}${ev.last_error ? ` (${ev.last_error})` : ''}  ${ev.id}`,
    );
  out.push('', 'Notices');
  if (s.notices.length === 0) out.push('  none');
  for (const n of s.notices) out.push(`  ${date(n.created_at)}  ${n.kind}  ${n.status}${n.last_error ? ` (${n.last_error})` : ''}`);
  return out.join('\n');
}

const isMain = process.argv[1]?.endsWith('user.ts');
if (isMain) {
  try {
    const env = parseEnv(process.env);
    const args = process.argv.slice(2);
    const query = args.find((a) => !a.startsWith('--'));
    if (!query) {
      console.error(usage);
      process.exit(2);
    }
    const database = await openDatabase(env, 'miniapp-billing-user');
    try {
      await migrateDatabase(database);
      const deps = cliBillingDeps(env, database);
      const user = await findUserForOperator(database.db, query);
      if (!user) {
        console.error(`no user matches ${query.slice(0, 254)}`);
        process.exitCode = 1;
      } else {
        const state = await billingState(deps, user, { stripe: !args.includes('--no-stripe') });
        console.log(args.includes('--json') ? JSON.stringify(state, null, 2) : formatBillingState(state));
      }
    } finally {
      await database.close();
    }
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `billing:user failed: ${(err as Error).message}`);
    process.exit(1);
  }
}
