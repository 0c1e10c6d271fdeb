#!/usr/bin/env node
// The `mcp-pytest` command: runs the CLI compiled into dist/. On a fresh clone it installs and builds
// first, as `npm start` does (progress on stderr); an installed image ships dist/ and skips that.
import { existsSync } from 'node:fs';

const main = new URL('../dist/apps/cli/src/main.js', import.meta.url);
if (!existsSync(main)) {
  const { build, checkNode, ensureInstalled, say } = await import('../scripts/setup.mjs');
  checkNode();
  say('mcp-pytest is not built yet: installing and building (once) …');
  await ensureInstalled();
  await build();
}
await import(main.href);
