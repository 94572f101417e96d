import type { Invoice, Plan, PlanChangePreview, Subscription } from '@miniapp-billing/client';
import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { TRPCClientError } from '@trpc/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { explainSignIn } from '../src/auth.tsx';
import { CurrentPlan } from '../src/components/CurrentPlan.tsx';
import { Invoices } from '../src/components/Invoices.tsx';
import { Plans } from '../src/components/Plans.tsx';
import { ErrorState, Skeleton } from '../src/components/ui.tsx';
import { contrast, parseColor, readable } from '../src/contrast.ts';

afterEach(cleanup);

const free: Subscription = {
  tier: 'free',
  status: 'inactive',
  plan_name: 'Free',
  current_period_start: null,
  current_period_end: null,
  cancel_at_period_end: false,
  cancel_at: null,
  price_usd_monthly: 0,
  amount: 0,
  currency: null,
  interval: null,
  has_access: false,
  access_until: null,
  subscription_id: null,
  rail: null,
  payment_url: null,
};
const premium: Subscription = {
  ...free,
  rail: 'stripe',
  tier: 'premium_monthly',
  status: 'active',
  plan_name: 'Premium',
  current_period_start: '2026-11-26T10:00:00.000Z',
  current_period_end: '2026-12-26T10:00:00.000Z',
  price_usd_monthly: 29,
  amount: 2900,
  currency: 'usd',
  interval: 'month',
  has_access: true,
  access_until: '2026-12-26T10:00:00.000Z',
  subscription_id: 'sub_1',
};
const plans: Plan[] = [
  {
    plan_id: 'premium_monthly',
    name: 'Premium',
    amount: 2900,
    currency: 'usd',
    interval: 'month',
    price_usd_monthly: 29,
    features: ['A'],
    stars_price: 1500,
    trial_days: null,
    highlighted: false,
  },
  {
    plan_id: 'vip_monthly',
    name: 'VIP',
    amount: 9900,
    currency: 'usd',
    interval: 'month',
    price_usd_monthly: 99,
    features: ['B'],
    stars_price: null,
    trial_days: null,
    highlighted: true,
  },
];
const yearly: Plan[] = [
  ...plans,
  {
    ...(plans[0] as Plan),
    plan_id: 'premium_yearly',
    amount: 29_000,
    interval: 'year',
    price_usd_monthly: 24,
    stars_price: null,
    trial_days: 14,
  },
];

describe('Current plan', () => {
  it('shows the free plan', () => {
    render(<CurrentPlan subscription={free} onFixPayment={() => undefined} />);
    expect(screen.getByTestId('current-plan-name').textContent).toBe('Free');
    expect(screen.getByText(/free plan/)).toBeTruthy();
    // Said once: no "Free" badge beside the name "Free".
    expect(screen.getAllByText('Free')).toHaveLength(1);
  });

  it('shows name, status badge, price and renewal date', () => {
    render(<CurrentPlan subscription={premium} onFixPayment={() => undefined} />);
    expect(screen.getByTestId('current-plan-name').textContent).toBe('Premium');
    expect(screen.getByText('Active')).toBeTruthy();
    expect(screen.getByText(/\$29(?![\d.])/)).toBeTruthy();
    expect(screen.getByText(/Renews on/).textContent).toContain('Dec 26, 2026');
  });

  it('shows "Cancels on" when set to cancel at period end', () => {
    render(
      <CurrentPlan
        subscription={{ ...premium, cancel_at_period_end: true, cancel_at: premium.current_period_end }}
        onFixPayment={() => undefined}
      />,
    );
    expect(screen.getByText(/Cancels on/).textContent).toContain('Dec 26, 2026');
    expect(screen.queryByText(/Renews on/)).toBeNull();
  });

  it('warns when past due, with the grace date and a Fix payment action', async () => {
    const onFix = vi.fn();
    render(
      <CurrentPlan subscription={{ ...premium, status: 'past_due', access_until: '2026-11-29T10:00:00.000Z' }} onFixPayment={onFix} />,
    );
    expect(screen.getByText('Past due')).toBeTruthy();
    expect(screen.getByRole('alert').textContent).toContain('Nov 29, 2026');
    await userEvent.click(screen.getByRole('button', { name: 'Fix payment' }));
    expect(onFix).toHaveBeenCalledOnce();
  });
});

describe('Cancel and Resume in the app', () => {
  it('Cancel asks first, saying until when access lasts; focus goes into the question and back', async () => {
    const onCancel = vi.fn();
    render(<CurrentPlan subscription={premium} onFixPayment={() => undefined} onCancel={onCancel} onResume={() => undefined} />);
    const open = screen.getByRole('button', { name: 'Cancel plan' });
    await userEvent.click(open);
    const question = screen.getByRole('group', { name: /Cancel Premium\?/ });
    expect(question.textContent).toContain('You keep it until Dec 26, 2026, then move to Free');
    expect(document.activeElement).toBe(question);
    await userEvent.click(within(question).getByRole('button', { name: 'Keep plan' }));
    expect(onCancel).not.toHaveBeenCalled();
    await new Promise((r) => requestAnimationFrame(r));
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Cancel plan' }));
    await userEvent.click(screen.getByRole('button', { name: 'Cancel plan' }));
    await userEvent.click(within(screen.getByRole('group')).getByRole('button', { name: 'Cancel plan' }));
    expect(onCancel).toHaveBeenCalledOnce();
  });

  it('a plan set to cancel offers Resume, and no Cancel', async () => {
    const onResume = vi.fn();
    render(
      <CurrentPlan
        subscription={{ ...premium, cancel_at_period_end: true, cancel_at: premium.current_period_end }}
        onFixPayment={() => undefined}
        onCancel={() => undefined}
        onResume={onResume}
      />,
    );
    expect(screen.queryByRole('button', { name: 'Cancel plan' })).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Resume plan' }));
    expect(onResume).toHaveBeenCalledOnce();
  });

  it('the free plan has neither', () => {
    render(<CurrentPlan subscription={free} onFixPayment={() => undefined} onCancel={() => undefined} onResume={() => undefined} />);
    expect(screen.queryByRole('button', { name: /Cancel plan|Resume plan/ })).toBeNull();
  });
});

const noPreview = async (): Promise<PlanChangePreview> => preview({});
function preview(p: Partial<PlanChangePreview>): PlanChangePreview {
  return {
    plan_id: 'vip_monthly',
    direction: 'upgrade',
    currency: 'usd',
    amount_due_now: 0,
    credit: 0,
    next_amount: 9900,
    next_amount_due: 9900,
    next_date: '2026-12-26T10:00:00.000Z',
    proration_date: 1_798_000_000,
    ...p,
  };
}

describe('Plans', () => {
  it('inside Telegram, a plan sold in Stars is paid in Stars first, by card second', async () => {
    const onStars = vi.fn();
    const onUpgrade = vi.fn();
    render(
      <Plans
        plans={plans}
        subscription={free}
        busyPlan={null}
        onUpgrade={onUpgrade}
        onSwitch={() => undefined}
        loadPreview={noPreview}
        onStars={onStars}
      />,
    );
    expect(screen.getByText('or 1,500 Stars / 30 days')).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Subscribe to Premium for 1500 Telegram Stars' }));
    expect(onStars).toHaveBeenCalledWith('premium_monthly');
    await userEvent.click(screen.getByRole('button', { name: 'Pay for Premium by card' }));
    expect(onUpgrade).toHaveBeenCalledWith('premium_monthly');
    // VIP is not sold in Stars: the card is its only way.
    expect(screen.getByRole('button', { name: 'Upgrade to VIP' })).toBeTruthy();
  });

  it('with monthly and yearly prices, shows one period at a time, the trial and the recommended plan', async () => {
    const onUpgrade = vi.fn();
    render(
      <Plans plans={yearly} subscription={free} busyPlan={null} onUpgrade={onUpgrade} onSwitch={() => undefined} loadPreview={noPreview} />,
    );
    expect(screen.getByRole('button', { name: 'Monthly' }).getAttribute('aria-pressed')).toBe('true');
    expect(screen.getAllByRole('heading').map((h) => h.textContent)).toEqual(['Premium', 'VIP']);
    expect(within(screen.getByRole('listitem', { name: 'VIP' })).getByText('Recommended')).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Yearly' }));
    expect(screen.getAllByRole('heading').map((h) => h.textContent)).toEqual(['Premium']);
    expect(screen.getByText(/\$290/)).toBeTruthy();
    expect(screen.getByText('14-day free trial · no charge until it ends')).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Upgrade to Premium' }));
    expect(onUpgrade).toHaveBeenCalledWith('premium_yearly');
  });

  it('while a checkout is pending, no purchase starts', async () => {
    const onUpgrade = vi.fn();
    render(
      <Plans
        plans={plans}
        subscription={free}
        busyPlan={null}
        onUpgrade={onUpgrade}
        onSwitch={() => undefined}
        loadPreview={noPreview}
        locked
      />,
    );
    for (const button of screen.getAllByRole('button', { name: /Upgrade to/ })) {
      expect(button.hasAttribute('disabled')).toBe(true);
      await userEvent.click(button);
    }
    expect(onUpgrade).not.toHaveBeenCalled();
  });

  it('offers Upgrade on the free plan', async () => {
    const onUpgrade = vi.fn();
    render(
      <Plans plans={plans} subscription={free} busyPlan={null} onUpgrade={onUpgrade} onSwitch={() => undefined} loadPreview={noPreview} />,
    );
    await userEvent.click(screen.getByRole('button', { name: 'Upgrade to VIP' }));
    expect(onUpgrade).toHaveBeenCalledWith('vip_monthly');
  });

  it("a Downgrade shows Stripe's amounts: nothing now, the credit, the next payment; Confirm sends the preview's date", async () => {
    const onSwitch = vi.fn();
    const loadPreview = vi.fn(async () =>
      preview({
        plan_id: 'premium_monthly',
        direction: 'downgrade',
        amount_due_now: 0,
        credit: 4620,
        next_amount: 2900,
        next_amount_due: 0,
      }),
    );
    const vip: Subscription = { ...premium, tier: 'vip_monthly', plan_name: 'VIP', amount: 9900, price_usd_monthly: 99 };
    render(
      <Plans plans={plans} subscription={vip} busyPlan={null} onUpgrade={() => undefined} onSwitch={onSwitch} loadPreview={loadPreview} />,
    );
    await userEvent.click(screen.getByRole('button', { name: 'Downgrade to Premium' }));
    const question = await screen.findByRole('group', { name: /Downgrade to Premium/ });
    expect(loadPreview).toHaveBeenCalledWith('premium_monthly');
    expect(document.activeElement).toBe(question);
    const amounts = await screen.findByTestId('change-amounts');
    expect(amounts.textContent).toContain('Due now$0');
    expect(amounts.textContent).toContain('Credit for unused time$46.20');
    expect(amounts.textContent).toContain('Next payment, Dec 26, 2026$0');
    expect(amounts.textContent).toContain('Then each month$29');
    await userEvent.click(screen.getByRole('button', { name: 'Confirm downgrade' }));
    expect(onSwitch).toHaveBeenCalledWith('premium_monthly', 1_798_000_000);
  });

  it('an Upgrade shows what is due now; Confirm waits for the amount; Keep current plan gives focus back', async () => {
    const onSwitch = vi.fn();
    let answer: (p: PlanChangePreview) => void = () => undefined;
    const loadPreview = vi.fn(() => new Promise<PlanChangePreview>((resolve) => (answer = resolve)));
    render(
      <Plans
        plans={plans}
        subscription={premium}
        busyPlan={null}
        onUpgrade={() => undefined}
        onSwitch={onSwitch}
        loadPreview={loadPreview}
      />,
    );
    expect(screen.getByText('Your current plan')).toBeTruthy();
    const opener = screen.getByRole('button', { name: 'Upgrade to VIP' });
    await userEvent.click(opener);
    expect(onSwitch).not.toHaveBeenCalled();
    expect((await screen.findByRole('button', { name: 'Confirm upgrade' })).hasAttribute('disabled')).toBe(true);
    answer(preview({ amount_due_now: 4667, next_amount: 9900, next_amount_due: 9900 }));
    expect((await screen.findByTestId('change-amounts')).textContent).toContain('Due now$46.67');
    expect(screen.queryByText(/Credit/)).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Keep current plan' }));
    await new Promise((r) => requestAnimationFrame(r));
    loadPreview.mockImplementation(async () => preview({ amount_due_now: 4660 }));
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Upgrade to VIP' }));
    await userEvent.click(screen.getByRole('button', { name: 'Upgrade to VIP' }));
    await screen.findByTestId('change-amounts');
    await userEvent.click(screen.getByRole('button', { name: 'Confirm upgrade' }));
    expect(onSwitch).toHaveBeenCalledWith('vip_monthly', 1_798_000_000);
  });

  it('a preview Stripe could not give says so in the question, with Retry', async () => {
    let fail = true;
    const loadPreview = vi.fn(async () => {
      if (fail) throw new Error('The payment provider is unavailable; try again shortly');
      return preview({});
    });
    render(
      <Plans
        plans={plans}
        subscription={premium}
        busyPlan={null}
        onUpgrade={() => undefined}
        onSwitch={() => undefined}
        loadPreview={loadPreview}
      />,
    );
    await userEvent.click(screen.getByRole('button', { name: 'Upgrade to VIP' }));
    const alert = await screen.findByRole('alert');
    expect(within(screen.getByRole('group', { name: /Upgrade to VIP/ })).getByRole('alert')).toBe(alert);
    fail = false;
    await userEvent.click(within(alert).getByRole('button', { name: 'Retry' }));
    await screen.findByTestId('change-amounts');
    expect(loadPreview).toHaveBeenCalledTimes(2);
  });

  it('is keyboard reachable: every button can be focused and pressed with Enter', async () => {
    const onUpgrade = vi.fn();
    render(
      <Plans plans={plans} subscription={free} busyPlan={null} onUpgrade={onUpgrade} onSwitch={() => undefined} loadPreview={noPreview} />,
    );
    await userEvent.tab();
    expect(document.activeElement?.textContent).toBe('Upgrade');
    await userEvent.keyboard('{Enter}');
    expect(onUpgrade).toHaveBeenCalledWith('premium_monthly');
  });
});

describe('Invoices', () => {
  const invoice = (over: Partial<Invoice>): Invoice => ({
    id: 'in_1',
    number: 'A-0001',
    amount_paid: 2900,
    amount_due: 2900,
    currency: 'usd',
    status: 'paid',
    stripe_status: 'paid',
    created: 1795700000,
    pdf_url: 'https://files.example/in_1.pdf',
    hosted_invoice_url: null,
    description: 'Premium',
    purpose: null,
    ...over,
  });

  it('each row is one tap target naming the date, number, what for, amount and status', () => {
    render(
      <Invoices
        invoices={[
          invoice({ description: 'Stripe text', purpose: { kind: 'create', plan_name: 'Premium', interval: 'month' } }),
          invoice({
            id: 'in_2',
            number: 'A-0002',
            status: 'past_due',
            amount_paid: 0,
            amount_due: 9900,
            pdf_url: null,
            hosted_invoice_url: 'https://pay.example/in_2',
          }),
          invoice({ id: 'in_3', number: null, pdf_url: null, status: 'draft' }),
          invoice({ id: 'in_4', purpose: { kind: 'update', plan_name: 'VIP', interval: 'month' } }),
          invoice({ id: 'in_5', purpose: { kind: 'cycle', plan_name: 'Premium', interval: 'year' } }),
          invoice({ id: 'in_6', amount_paid: 0, amount_due: 0, purpose: { kind: 'update', plan_name: 'Premium', interval: 'month' } }),
        ]}
      />,
    );
    const items = screen.getAllByRole('listitem');
    const first = within(items[0] as HTMLElement).getByRole('link');
    expect(first.getAttribute('href')).toBe('https://files.example/in_1.pdf');
    expect(first.getAttribute('aria-label')).toMatch(/^PDF of the invoice A-0001 of .+: Premium · monthly, \$29, Paid$/);
    expect(within(first).getByText('Premium · monthly')).toBeTruthy();
    expect(within(first).getByText(/A-0001/)).toBeTruthy();
    // No PDF yet: the row opens the invoice's page at Stripe, where it can be paid.
    const second = within(items[1] as HTMLElement).getByRole('link');
    expect(second.getAttribute('href')).toBe('https://pay.example/in_2');
    expect(second.getAttribute('aria-label')).toContain('$99, Past due');
    // Nothing to open: a plain row.
    expect(within(items[2] as HTMLElement).queryByRole('link')).toBeNull();
    // What it paid for, in the app's words (Stripe's text only when nothing better is known).
    expect(items[2]?.textContent).toContain('Premium');
    expect(items[3]?.textContent).toContain('Upgrade to VIP (prorated)');
    expect(items[4]?.textContent).toContain('Premium · yearly renewal');
    expect(items[5]?.textContent).toContain('Downgrade to Premium (prorated)');
  });

  it.each([
    ['open', 'Open'],
    ['draft', 'Draft'],
    ['canceled', 'Canceled'],
    ['uncollectible', 'Uncollectible'],
  ] as const)('badge for %s reads %s', (status, label) => {
    render(<Invoices invoices={[invoice({ status })]} />);
    expect(screen.getByText(label)).toBeTruthy();
  });

  it('has an empty state', () => {
    render(<Invoices invoices={[]} />);
    expect(screen.getByText(/No invoices yet/)).toBeTruthy();
  });
});

describe('loading and errors', () => {
  it('skeletons announce what is loading; errors offer Retry', async () => {
    const onRetry = vi.fn();
    render(
      <>
        <Skeleton label="Loading your plan" />
        <ErrorState message="Could not load your plan." onRetry={onRetry} />
      </>,
    );
    expect(screen.getByRole('status', { name: 'Loading your plan' })).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Retry' }));
    expect(onRetry).toHaveBeenCalledOnce();
  });
});

describe('sign-in failures', () => {
  const trpcError = (httpStatus: number, code: string) =>
    new TRPCClientError('Invalid Telegram init data', {
      result: { error: { code: -32001, message: 'Invalid Telegram init data', data: { code, httpStatus } } },
    } as never);

  it('are told in plain words with the way out, never the server’s wording', () => {
    const rejected = explainSignIn(trpcError(401, 'UNAUTHORIZED'));
    expect(rejected).toEqual({ message: expect.stringContaining('reopen the app from Telegram'), retry: false });
    expect(rejected.message).not.toContain('init data');
    expect(explainSignIn(new TypeError('fetch failed'))).toMatchObject({ retry: true, message: expect.stringContaining('connection') });
    expect(explainSignIn(trpcError(429, 'TOO_MANY_REQUESTS'))).toMatchObject({ retry: true });
  });
});

describe('contrast guard', () => {
  const rgb = (hex: string) => parseColor(hex) as [number, number, number];

  it('measures as WCAG does: Telegram light’s white on #2481cc is 4.12:1', () => {
    expect(contrast(rgb('#ffffff'), rgb('#2481cc'))).toBeCloseTo(4.12, 1);
    expect(contrast(rgb('#8e8e93'), rgb('#fff'))).toBeCloseTo(3.26, 1);
    expect(parseColor('rgb(36, 129, 204)')).toEqual([36, 129, 204]);
    expect(parseColor('var(--x)')).toBeUndefined();
  });

  it.each([
    ['a button behind white text (Telegram light)', '#2481cc', '#ffffff'],
    ['a button behind white text (Telegram dark)', '#3d9be9', '#ffffff'],
    ['the destructive button', '#ff6b7b', '#ffffff'],
    ['hint text on a white card', '#8e8e93', '#ffffff'],
    ['hint text on a dark card', '#5d6163', '#1c1c1d'],
  ])('moves %s until it reads at 4.5:1, and leaves a readable pair alone', (_what, moving, fixed) => {
    const moved = readable(rgb(moving), rgb(fixed));
    expect(contrast(moved, rgb(fixed))).toBeGreaterThanOrEqual(4.5);
    expect(readable(moved, rgb(fixed))).toBe(moved);
  });
});
