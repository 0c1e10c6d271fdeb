#!/usr/bin/env node
// The `mcp-pytest` command: runs the CLI compiled into dist/ (npm run build).
import { existsSync } from 'node:fs';

const main = new URL('../dist/apps/cli/src/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('mcp-pytest is not built: run `npm run build` (npm start and npm test build it too)\n');
  process.exit(1);
}
await import(main.href);
