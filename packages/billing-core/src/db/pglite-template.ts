import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';

/**
 * A freshly initialised, empty PGlite cluster, kept as a tarball so that a new embedded database is
 * loaded (~1.5 s) instead of created by initdb (~5 s). Made once per installed PGlite version
 * (`pnpm install` runs it; otherwise the first database makes it) and kept under node_modules/.cache.
 */
const cacheDir = fileURLToPath(new URL('../../node_modules/.cache/', import.meta.url));
const key = createHash('sha256')
  .update(import.meta.resolve('@electric-sql/pglite'))
  .digest('hex')
  .slice(0, 16);
const file = path.join(cacheDir, `pglite-template-${key}.tar.gz`);

let loaded: Promise<Blob | undefined> | undefined;

export function pgliteTemplate(): Promise<Blob | undefined> {
  loaded ??= (async () => {
    try {
      if (!existsSync(file)) await makeTemplate();
      return new Blob([readFileSync(file)]);
    } catch {
      // A read-only or missing cache only costs time: databases are then created by initdb.
      return undefined;
    }
  })();
  return loaded;
}

export async function makeTemplate(): Promise<string> {
  const fresh = new PGlite();
  await fresh.waitReady;
  const dump = await fresh.dumpDataDir('gzip');
  await fresh.close();
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.from(await dump.arrayBuffer()));
  renameSync(tmp, file);
  return file;
}

/** True when `dir` already holds a cluster (nothing to load). */
export function hasCluster(dir: string | undefined): boolean {
  return dir !== undefined && existsSync(path.join(dir, 'PG_VERSION'));
}
