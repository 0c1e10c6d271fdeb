// npm test: install what is missing, build, check for nats-server (the end-to-end suites start their own),
// then run every suite with vitest. Arguments pass through to vitest (e.g. `npm test -- test/stdio`).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { build, checkNode, ensureInstalled, fail, findNatsServer, INSTALL_NATS_HINT, root, say } from './setup.mjs';

checkNode();
await ensureInstalled();
say('building …');
await build();
const natsServer = findNatsServer();
if (!natsServer) fail(`The end-to-end tests start their own nats-server, and none is installed. ${INSTALL_NATS_HINT}`);

const vitest = spawn(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...process.argv.slice(2)], {
  cwd: root,
  env: { ...process.env, NATS_SERVER_BIN: natsServer },
  stdio: 'inherit',
});
vitest.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
