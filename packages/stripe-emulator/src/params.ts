import { invalid, required } from './errors.ts';
import type { Metadata } from './objects.ts';

/** Form-decoded Stripe parameters (`qs` output): nested objects, arrays and strings. */
export type Params = Record<string, unknown>;

export function str(params: Params, key: string): string | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(`Invalid string: ${key}`, key);
  return v;
}

export function reqStr(params: Params, key: string): string {
  const v = str(params, key);
  if (v === undefined || v === '') throw required(key);
  return v;
}

/** `key=` means null in Stripe's form encoding. */
export function nullableStr(params: Params, key: string): string | null | undefined {
  const v = str(params, key);
  return v === '' ? null : v;
}

export function int(params: Params, key: string, opts: { min?: number; max?: number } = {}): number | undefined {
  const v = str(params, key);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw invalid(`Invalid integer: ${v}`, key);
  const n = Number(v);
  if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    throw invalid(`Invalid integer: ${v}`, key);
  }
  return n;
}

export function num(params: Params, key: string): number | undefined {
  const v = str(params, key);
  if (v === undefined) return undefined;
  if (!/^-?\d+(\.\d+)?$/.test(v)) throw invalid(`Invalid decimal: ${v}`, key);
  return Number(v);
}

export function bool(params: Params, key: string): boolean | undefined {
  const v = str(params, key);
  if (v === undefined) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw invalid(`Invalid boolean: ${v}`, key);
}

/** Marks the metadata of `metadata=` (an empty value): on an update, Stripe clears every key. */
export const CLEARS_METADATA = Symbol('clears metadata');

export function metadata(params: Params, key = 'metadata'): Metadata | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  if (v === '') return Object.defineProperty({}, CLEARS_METADATA, { value: true, enumerable: false }) as Metadata;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('Invalid object', key);
  const out: Metadata = {};
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > 50) throw invalid('Metadata can have up to 50 keys.', key);
  for (const [k, val] of entries) {
    if (typeof val !== 'string') throw invalid(`Invalid metadata value for ${k}`, `${key}[${k}]`);
    if (k.length > 40) throw invalid('Metadata keys can be up to 40 characters long.', `${key}[${k}]`);
    if (val.length > 500) throw invalid('Metadata values can be up to 500 characters long.', `${key}[${k}]`);
    out[k] = val;
  }
  return out;
}

export function obj(params: Params, key: string): Params | undefined {
  const v = params[key];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('Invalid object', key);
  return v as Params;
}

/** Arrays arrive as `a[0][x]=…` (an object keyed by index after qs with a low arrayLimit) or as real arrays. */
export function list(params: Params, key: string): Params[] {
  const v = params[key];
  if (v === undefined || v === '') return [];
  const values = Array.isArray(v) ? v : typeof v === 'object' && v !== null ? Object.values(v) : null;
  if (!values) throw invalid('Invalid array', key);
  return values.map((item, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw invalid('Invalid object', `${key}[${i}]`);
    return item as Params;
  });
}

export function strings(params: Params, key: string): string[] {
  const v = params[key];
  if (v === undefined || v === '') return [];
  const values = Array.isArray(v) ? v : typeof v === 'object' && v !== null ? Object.values(v) : [v];
  return values.map((x) => {
    if (typeof x !== 'string') throw invalid('Invalid array', key);
    return x;
  });
}
