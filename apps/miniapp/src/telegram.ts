// Telegram's own Web App script, shipped by @twa-dev/sdk: importing it installs window.Telegram.WebApp,
// which reads the init data and theme Telegram passes in the URL fragment. The object is read from
// window (the package's default export goes through CommonJS interop, which bundlers differ on).
import TelegramWebApp from '@twa-dev/sdk';

// The import's value is referenced so that bundlers keep the script even when they treat it as pure.
const WebApp = ((window as unknown as { Telegram?: { WebApp?: typeof TelegramWebApp } }).Telegram?.WebApp ??
  TelegramWebApp) as typeof TelegramWebApp;

/**
 * Telegram's side of the Mini App. Outside Telegram (the demo in a browser) `initData` is empty:
 * links open in the same tab and the theme follows the system.
 */
export const telegram = {
  get inTelegram(): boolean {
    return typeof WebApp?.initData === 'string' && WebApp.initData.length > 0;
  },
  get initData(): string {
    return WebApp?.initData ?? '';
  },
  /** The person's language in Telegram (`en`, `de`, `pt-br`), when Telegram says. */
  get languageCode(): string | null {
    return this.inTelegram ? (WebApp?.initDataUnsafe?.user?.language_code ?? null) : null;
  },
  get startParam(): string | null {
    return WebApp?.initDataUnsafe?.start_param ?? null;
  },
  ready(): void {
    if (!this.inTelegram) return;
    WebApp.ready();
    WebApp.expand();
    // Telegram's own header and background in the page's colour: no seam under the header.
    if (this.supports('6.1')) {
      WebApp.setHeaderColor('secondary_bg_color');
      WebApp.setBackgroundColor('secondary_bg_color');
    }
  },
  /** Whether the Telegram client speaks this Bot API version of Mini Apps. */
  supports(version: string): boolean {
    return this.inTelegram && typeof WebApp.isVersionAtLeast === 'function' && WebApp.isVersionAtLeast(version);
  },
  /** A touch of the device: a payment done or refused, or a choice changed. */
  haptic(kind: 'success' | 'error' | 'selection'): void {
    if (!this.supports('6.1')) return;
    if (kind === 'selection') WebApp.HapticFeedback.selectionChanged();
    else WebApp.HapticFeedback.notificationOccurred(kind);
  },
  /** While a payment is pending, closing the app asks first. */
  confirmClosing(on: boolean): void {
    if (!this.supports('6.2')) return;
    if (on) WebApp.enableClosingConfirmation();
    else WebApp.disableClosingConfirmation();
  },
  /** Telegram's Back button on a secondary screen; returns how to take it away. */
  backButton(onBack: () => void): () => void {
    if (!this.supports('6.1')) return () => undefined;
    WebApp.BackButton.onClick(onBack);
    WebApp.BackButton.show();
    return () => {
      WebApp.BackButton.offClick(onBack);
      WebApp.BackButton.hide();
    };
  },
  /**
   * Telegram's main button carrying the screen's primary action, with its progress state; returns
   * how to take it away. Outside Telegram the page's own button is the only one.
   */
  mainButton(text: string, onClick: () => void, busy: boolean): () => void {
    if (!this.supports('6.1')) return () => undefined;
    const button = WebApp.MainButton;
    button.setText(text);
    button.onClick(onClick);
    if (busy) button.showProgress(false);
    else button.hideProgress();
    button.show();
    return () => {
      button.offClick(onClick);
      button.hideProgress();
      button.hide();
    };
  },
  /** An invoice PDF: Telegram's own download sheet where the client has it, else the browser. */
  openFile(url: string, fileName: string): boolean {
    if (!this.supports('8.0')) return false;
    WebApp.downloadFile({ url, file_name: fileName });
    return true;
  },
  /** Checkout and the Portal open in the external browser inside Telegram; in a browser, in this tab. */
  openExternal(url: string): void {
    if (!this.inTelegram) window.location.assign(url);
    else if (/^https:\/\/t\.me\//.test(url)) WebApp.openTelegramLink(url);
    else WebApp.openLink(url);
  },
  /** Light or dark, from Telegram's theme inside Telegram. */
  colorScheme(): 'light' | 'dark' | null {
    return this.inTelegram ? WebApp.colorScheme : null;
  },
  onThemeChanged(handler: () => void): () => void {
    if (!this.inTelegram) return () => undefined;
    WebApp.onEvent('themeChanged', handler);
    return () => WebApp.offEvent('themeChanged', handler);
  },
  /**
   * Telegram's invoice sheet for a Stars invoice link; resolves with how the person left it. The
   * status is a hint for the screen: what was paid is what the bot was told.
   */
  openInvoice(link: string): Promise<'paid' | 'cancelled' | 'failed' | 'pending'> {
    return new Promise((resolve) => WebApp.openInvoice(link, (status) => resolve(status as 'paid' | 'cancelled' | 'failed' | 'pending')));
  },
  onActivated(handler: () => void): () => void {
    if (!this.inTelegram) return () => undefined;
    WebApp.onEvent('activated', handler);
    return () => WebApp.offEvent('activated', handler);
  },
};

/** The deep link back into the Mini App after Checkout in the external browser. */
export function telegramLink(bot: string | null, app: string | null, startParam: string): string | null {
  if (!bot || !app) return null;
  return `https://t.me/${bot}/${app}?startapp=${encodeURIComponent(startParam)}`;
}
