import { billingErrorOf } from '@miniapp-billing/client';
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en, type Messages } from './locales/en.ts';

/**
 * The languages the app's words are in. English is the source and the fallback, and ships with the
 * app; every other language is its own small chunk, loaded only by those who speak it.
 */
export const LANGUAGES = {
  en: async (): Promise<Messages> => en,
  de: async (): Promise<Messages> => (await import('./locales/de.ts')).de,
} as const;
export type Language = keyof typeof LANGUAGES;

/**
 * How money and dates are written: the person's locale (Telegram's `language_code`, else the
 * browser's), and the time zone Stripe shows dates in (UTC unless the account says otherwise), so a
 * date here is the date on Stripe's invoice and portal.
 */
export const formatting = { locale: 'en-US', timeZone: 'UTC' };

const canonical = (tag: string | null | undefined): string | null => {
  if (!tag) return null;
  try {
    return Intl.getCanonicalLocales(tag.replace(/_/g, '-'))[0] ?? null;
  } catch {
    return null;
  }
};

/** The locale to format in and the language to speak: Telegram's first, then the browser's list. */
export function chooseLocale(telegramCode: string | null | undefined, browser: readonly string[]): { locale: string; language: Language } {
  const candidates = [telegramCode, ...browser].map(canonical).filter((c): c is string => c !== null);
  const locale = candidates[0] ?? 'en-US';
  const spoken = candidates.map((c) => c.split('-')[0] as string).find((l): l is Language => l in LANGUAGES);
  return { locale, language: spoken ?? 'en' };
}

const validTimeZone = (zone: string | null | undefined): string => {
  if (!zone) return 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone;
  } catch {
    return 'UTC';
  }
};

/** Sets the words, the locale and the time zone, before the first render. */
export async function setupI18n(
  options: { telegramCode?: string | null; browser?: readonly string[]; timeZone?: string | null } = {},
): Promise<Language> {
  const chosen = chooseLocale(options.telegramCode, options.browser ?? []);
  formatting.locale = chosen.locale;
  formatting.timeZone = validTimeZone(options.timeZone);
  // A language whose chunk cannot load (offline) is spoken in English rather than not at all.
  const words = await LANGUAGES[chosen.language]().catch(() => null);
  const language: Language = words ? chosen.language : 'en';
  if (!i18next.isInitialized) {
    await i18next.use(initReactI18next).init({
      resources: { en: { translation: en } },
      lng: 'en',
      fallbackLng: 'en',
      interpolation: { escapeValue: false },
      initAsync: false,
      returnEmptyString: false,
    });
  }
  if (words && language !== 'en') i18next.addResourceBundle(language, 'translation', words, true, true);
  await i18next.changeLanguage(language);
  if (typeof document !== 'undefined') document.documentElement.lang = language;
  return language;
}

/** The words for a key, outside a component (helpers that format). */
export const t = (key: string, options: Record<string, unknown> = {}): string => i18next.t(key, options) as string;

/**
 * What went wrong, in the person's language: the server's reason code when the app has words for
 * it, else the server's own (English, safe) message.
 */
export function errorText(err: unknown): string {
  const { reason, message } = billingErrorOf(err);
  const key = `errors.${reason}`;
  return i18next.exists(key) ? i18next.t(key) : message;
}
