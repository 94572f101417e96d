/**
 * Telegram's themes do not promise readable pairs (its light theme's white on #2481cc is 4.12:1,
 * its hint colour on white 3.26:1). After each theme is applied, every pair the page draws text
 * with is measured (WCAG 2 contrast) and, where it is under 4.5:1, the colour that may move is
 * moved toward black or white, in small steps, until it reads: the theme's look, at a legible depth.
 */

type Rgb = [number, number, number];

/** `#rgb`, `#rrggbb` or `rgb(a)(…)` → channels 0–255; undefined for anything else. */
export function parseColor(value: string): Rgb | undefined {
  const v = value.trim();
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(v)?.[1];
  if (hex) {
    const full = hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex;
    return [0, 2, 4].map((i) => Number.parseInt(full.slice(i, i + 2), 16)) as Rgb;
  }
  const rgb = /^rgba?\(\s*(\d+(?:\.\d+)?)[\s,]+(\d+(?:\.\d+)?)[\s,]+(\d+(?:\.\d+)?)/i.exec(v);
  return rgb ? [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])] : undefined;
}

const channel = (c: number) => {
  const s = c / 255;
  return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
};
const luminance = ([r, g, b]: Rgb) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);

export function contrast(a: Rgb, b: Rgb): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

const mix = (c: Rgb, to: Rgb, t: number): Rgb => c.map((v, i) => Math.round(v + ((to[i] as number) - v) * t)) as Rgb;
const hex = (c: Rgb) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

/**
 * `moving` drawn against `fixed`: moved toward black or white (whichever parts them) until the
 * pair reaches `min`; the colour unchanged when it already does.
 */
export function readable(moving: Rgb, fixed: Rgb, min = 4.5): Rgb {
  if (contrast(moving, fixed) >= min) return moving;
  const toward: Rgb = luminance(fixed) > 0.35 ? [0, 0, 0] : [255, 255, 255];
  for (let t = 0.05; t <= 1; t += 0.05) {
    const next = mix(moving, toward, t);
    if (contrast(next, fixed) >= min) return next;
  }
  return toward;
}

/** [the variable that may move, the one it is drawn with]: text on a card, or a button behind its text. */
const PAIRS: Array<[string, string]> = [
  ['--text', '--card'],
  ['--muted', '--card'],
  ['--heading', '--card'],
  ['--link', '--card'],
  ['--accent', '--accent-text'],
  ['--accent-ink', '--card'],
  ['--danger', '--card'],
  ['--danger-button', '--danger-button-text'],
];

/** Measures the page's colour pairs now and overrides, on the root, each that does not read. */
export function guardContrast(root: HTMLElement = document.documentElement): void {
  for (const [moving] of PAIRS) root.style.removeProperty(moving);
  const style = getComputedStyle(root);
  for (const [moving, fixed] of PAIRS) {
    const a = parseColor(style.getPropertyValue(moving));
    const b = parseColor(style.getPropertyValue(fixed));
    if (!a || !b) continue;
    const fixedUp = readable(a, b);
    if (fixedUp !== a) root.style.setProperty(moving, hex(fixedUp));
  }
}
