import { appendFileSync, mkdirSync } from 'node:fs';

/** `pnpm test:chaos` runs every scenario at full size; the normal run uses a fast subset. */
export const LONG = process.env.RELIABILITY_SCALE === 'long';
export const scale = (fast: number, long: number) => (LONG ? long : fast);

const dir = new URL('../../../../artifacts/', import.meta.url).pathname;

/** Prints one machine-readable line `name: key=value …` and keeps it in artifacts/reliability.txt. */
export function figure(name: string, fields: Record<string, string | number | boolean>): void {
  const line = `${name}: ${Object.entries(fields)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}`;
  console.log(line);
  mkdirSync(dir, { recursive: true });
  appendFileSync(`${dir}reliability.txt`, `${line}\n`);
}
