// npm start: install what is missing, build, make sure NATS answers (starting a local nats-server with
// JetStream under ./.data/ if none does), then run the projector, the query app and the gateway.
// Ctrl-C stops them all, and the nats-server if this script started it.
// `npm start -- --only gateway,query` runs only those (NATS must answer already, unless `nats` is
// named): one app can then be stopped and started on its own (`npm run projector`), NATS staying up.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build, checkNode, ensureInstalled, fail, findNatsServer, INSTALL_NATS_HINT, probeNats, root, say } from './setup.mjs';

const APPS = {
  projector: 'dist/apps/projector/src/main.js',
  query: 'dist/apps/query/src/main.js',
  gateway: 'dist/apps/gateway/src/main.js',
};
const PARTS = ['nats', ...Object.keys(APPS)];

checkNode();
const only = partsToRun();
const children = [];
let stopping = false;
// stop() ends the process itself; nothing waits on it.
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

await ensureInstalled();
say('building …');
await build();
// The apps read the settings file themselves; this script needs its NATS_URL too, to find (or start)
// NATS: the apps' own loader, so that both read one file by one rule.
const { loadDotEnv } = await import(pathToFileURL(join(root, 'dist/libs/platform/src/env.js')).href);
try {
  loadDotEnv();
} catch (error) {
  fail(error.message);
}

const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

const nats = await probeNats(natsUrl);
if (nats.notNats) fail(`Something answers at ${natsUrl}, but it is not a NATS server: set NATS_URL.`);
if (nats.up && !nats.jetstream) fail(`The NATS server at ${natsUrl} (${nats.version}) has no JetStream: start it with -js.`);
if (nats.up) say(`using NATS ${nats.version} at ${natsUrl}`);
else if (only.has('nats')) await startLocalNats();
else fail(`Nothing answers at ${natsUrl}: start NATS first (\`npm run nats\` runs a local one), or run plain \`npm start\`.`);

const apps = Object.entries(APPS).filter(([name]) => only.has(name));
for (const [name, entry] of apps) launch(name, process.execPath, [join(root, entry)]);
if (children.length === 0) {
  say(`NATS at ${natsUrl} is running already: nothing to start`);
  process.exit(0);
}
say(`running ${children.map(({ name }) => name).join(', ')}; Ctrl-C stops ${children.length > 1 ? 'them' : 'it'}`);

/** What `--only` names (default: everything), each checked. */
function partsToRun() {
  let values;
  try {
    ({ values } = parseArgs({ options: { only: { type: 'string' } } }));
  } catch (error) {
    fail(`${error.message} (usage: npm start [-- --only ${PARTS.join(',')}])`);
  }
  if (values.only === undefined) return new Set(PARTS);
  const named = values.only
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  const unknown = named.filter((part) => !PARTS.includes(part));
  if (unknown.length > 0 || named.length === 0)
    fail(`--only ${values.only}: name some of ${PARTS.join(', ')}${unknown.length ? ` (not ${unknown.join(', ')})` : ''}`);
  return new Set(named);
}

async function startLocalNats() {
  const binary = findNatsServer();
  const { hostname, port } = new URL(natsUrl.split(',')[0]);
  const local = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(hostname);
  if (!binary || !local) fail(`Nothing answers at ${natsUrl}. ${local ? INSTALL_NATS_HINT : 'Start that server, or set NATS_URL.'}`);
  const store = join(root, '.data', 'nats');
  mkdirSync(store, { recursive: true });
  launch('nats', binary, ['-js', '-a', hostname === 'localhost' ? '127.0.0.1' : hostname.replace(/[[\]]/g, ''), '-p', port || '4222', '-sd', store]);
  for (let i = 0; i < 50 && !(await probeNats(natsUrl)).up; i++) await new Promise((r) => setTimeout(r, 100));
  if (!(await probeNats(natsUrl)).up) return stop(1, `the local nats-server did not come up at ${natsUrl}`);
  say(`started a local nats-server at ${natsUrl}, JetStream storing under ./.data/nats`);
  say('that nats-server runs WITHOUT auth (loopback only): any local program may use it; see nats/server-auth.conf for NATS users');
}

function launch(name, command, args) {
  // Own process group: Ctrl-C reaches this script only, which then stops each child in order.
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, NATS_URL: natsUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const prefix = `[${name}] `.padEnd(12);
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) process.stdout.write(prefix + line + '\n');
    });
  }
  child.on('exit', (code, signal) => {
    if (!stopping) void stop(1, `${name} exited (${signal ?? code}); stopping the rest`);
  });
  children.push({ name, child });
}

/** Stops the apps first, then the nats-server they use (it was launched first). */
async function stop(code, reason) {
  if (stopping) return;
  stopping = true;
  if (reason) say(reason);
  for (const { child } of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  say('stopped');
  process.exit(code);
}
