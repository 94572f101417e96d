import { makeTemplate } from '../db/pglite-template.ts';

// Run by `pnpm install` (root postinstall): prepares the empty-cluster template for PGlite.
try {
  const file = await makeTemplate();
  console.log(`PGlite template ready: ${file}`);
} catch (err) {
  console.warn(`PGlite template not made (${(err as Error).message}); embedded databases will be created by initdb`);
}
