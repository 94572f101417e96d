import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/**
 * The Mini App's document as it is served: the built index.html with its stylesheet and the
 * client configuration written into it, so the first paint waits on one response and nothing else
 * (no render-blocking CSS request, no `/config.json` before the first render). Built once at start
 * and kept compressed both ways.
 */
export interface AppShell {
  identity: Buffer;
  br: Buffer;
  gzip: Buffer;
  /** CSP source expressions (`'sha256-…'`) for the document's own inline scripts. */
  scriptHashes: string[];
}

/** JSON that can sit inside a <script> element: no `</script>`, no `<!--`, no line separators. */
const inlineJson = (value: unknown) =>
  JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

export function buildAppShell(dist: string, config: Record<string, unknown> | undefined): AppShell {
  let html = readFileSync(path.join(dist, 'index.html'), 'utf8');
  // Vite's <link rel="stylesheet" href="/assets/…css">: its few kilobytes inline, read from dist only.
  html = html.replace(/<link rel="stylesheet"[^>]*?href="\/(assets\/[A-Za-z0-9._-]+\.css)"[^>]*>/g, (_tag, file: string) => {
    const css = readFileSync(path.join(dist, file), 'utf8').replace(/<\/style/gi, '<\\/style');
    return `<style>${css}</style>`;
  });
  if (config) html = html.replace('</head>', `<script id="app-config" type="application/json">${inlineJson(config)}</script></head>`);
  const scriptHashes = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    (m) =>
      `'sha256-${createHash('sha256')
        .update(m[1] ?? '')
        .digest('base64')}'`,
  );
  const identity = Buffer.from(html);
  return {
    identity,
    br: brotliCompressSync(identity, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
    gzip: gzipSync(identity, { level: 9 }),
    scriptHashes,
  };
}

/** The document, in the best encoding the client takes; revalidated on every load (its assets are immutable). */
export function sendAppShell(req: IncomingMessage, res: ServerResponse, shell: AppShell): void {
  const accepts = String(req.headers['accept-encoding'] ?? '');
  const [encoding, body] = /\bbr\b/.test(accepts)
    ? (['br', shell.br] as const)
    : /\bgzip\b/.test(accepts)
      ? (['gzip', shell.gzip] as const)
      : ([null, shell.identity] as const);
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Vary', 'Accept-Encoding');
  if (encoding) res.setHeader('Content-Encoding', encoding);
  res.setHeader('Content-Length', body.length);
  res.statusCode = 200;
  res.end(req.method === 'HEAD' ? undefined : body);
}
