// npm run build: installs what is missing (npm ci), then compiles to dist/ — on a fresh clone too.
import { build, checkNode, ensureInstalled } from './setup.mjs';

checkNode();
await ensureInstalled();
await build();
