// `node scripts/run.mjs <file> [args…]` (a path from the project root, usually under dist/): installs and builds if needed (progress on stderr),
// then runs the entry in this process. The stdio gateway, the rebuild and the benchmark start this way;
// stdout stays the entry's own (for the stdio gateway: MCP and nothing else).
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { build, checkNode, ensureInstalled, fail, root } from './setup.mjs';

const [entry, ...rest] = process.argv.slice(2);
if (!entry) fail('usage: node scripts/run.mjs <file, e.g. dist/apps/projector/src/main.rebuild.js> [args…]');
checkNode();
await ensureInstalled();
await build();
process.argv = [process.argv[0], join(root, entry), ...rest];
await import(pathToFileURL(join(root, entry)).href);
