// npm test: install what is missing, build, lint (ESLint and `prettier --check`, as `npm run lint`), check for nats-server
// (the end-to-end suites start their own), then run every suite with vitest. Arguments pass through to vitest
// (e.g. `npm test -- test/stdio`).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { build, checkNode, ensureInstalled, fail, findNatsServer, INSTALL_NATS_HINT, root, run, say } from './setup.mjs';

checkNode();
await ensureInstalled();
say('building …');
await build();
say('linting (eslint, prettier --check) …');
try {
  await run(process.execPath, [join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), '.']);
  await run(process.execPath, [join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs'), '--check', '.']);
} catch (err) {
  fail(`Lint failed (${err.message}), so no tests ran: fix what is reported above; \`npm run format\` fixes formatting, \`npm run lint\` re-checks.`);
}
const natsServer = findNatsServer();
if (!natsServer) fail(`The end-to-end tests start their own nats-server, and none is installed. ${INSTALL_NATS_HINT}`);

const vitest = spawn(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...process.argv.slice(2)], {
  cwd: root,
  env: { ...process.env, NATS_SERVER_BIN: natsServer },
  stdio: 'inherit',
});
vitest.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
