// npm start: install what is missing, build, make sure NATS answers (starting a local nats-server with
// JetStream under ./.data/ if none does), then run the projector, the query app and the gateway.
// Ctrl-C stops them all, and the nats-server if this script started it.
// `npm start -- --only gateway,query` runs only those (NATS must answer already, unless `nats` is
// named): one app can then be stopped and started on its own (`npm run projector`), NATS staying up.
// `npm run cluster` (`--cluster`) does the same with the 3-node cluster of nats/cluster/*.conf instead
// (the nodes that do not answer yet are started), the apps using all three and 3 replicas, and the NATS
// users of nats/users.conf: each app as its own user, the passwords made once in .data/cluster/nats-passwords.env.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
const CLUSTER_NODES = ['n1', 'n2', 'n3'];
const NATS_USERS = ['gateway', 'projector', 'query', 'operator', 'dashboards'];
const PASSWORDS_FILE = join('.data', 'cluster', 'nats-passwords.env');

checkNode();
const { only, cluster } = parseOptions();
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

const nodes = cluster ? CLUSTER_NODES.map(clusterNode) : [];
const natsUrl = cluster ? nodes.map(({ url }) => url).join(',') : (process.env.NATS_URL ?? 'nats://127.0.0.1:4222');
// On the cluster, streams and buckets get 3 replicas even while a node is down at start (`auto` would count 2).
const appEnv = { ...process.env, NATS_URL: natsUrl, ...(cluster ? { NATS_REPLICAS: '3' } : {}) };
const passwords = cluster ? clusterPasswords() : undefined;

if (cluster) {
  for (const node of nodes) await ensureNats(node.url, () => startClusterNode(node), `start the cluster first (\`npm run cluster -- --only nats\`)`);
  await jetStreamReady();
} else {
  await ensureNats(natsUrl, startLocalNats, `start NATS first (\`npm run nats\` runs a local one), or run plain \`npm start\``);
}

const apps = Object.entries(APPS).filter(([name]) => only.has(name));
for (const [name, entry] of apps) launch(name, process.execPath, [join(root, entry)], passwords ? asNatsUser(name) : {});
if (children.length === 0) {
  say(`NATS at ${natsUrl} is running already: nothing to start`);
  process.exit(0);
}
say(`running ${children.map(({ name }) => name).join(', ')}; Ctrl-C stops ${children.length > 1 ? 'them' : 'it'}`);

/** What `--only` names (default: everything), each checked; and whether `--cluster` is given. */
function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({ options: { only: { type: 'string' }, cluster: { type: 'boolean', default: false } } }));
  } catch (error) {
    fail(`${error.message} (usage: npm start [-- [--cluster] --only ${PARTS.join(',')}])`);
  }
  return { only: partsToRun(values.only), cluster: values.cluster };
}

function partsToRun(only) {
  if (only === undefined) return new Set(PARTS);
  const named = only
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  const unknown = named.filter((part) => !PARTS.includes(part));
  if (unknown.length > 0 || named.length === 0) fail(`--only ${only}: name some of ${PARTS.join(', ')}${unknown.length ? ` (not ${unknown.join(', ')})` : ''}`);
  return new Set(named);
}

/** Uses the NATS server at `url` if it answers with JetStream; else starts it with `start` where `nats` is to run. */
async function ensureNats(url, start, otherwise) {
  const nats = await probeNats(url);
  if (nats.notNats)
    fail(`Something answers at ${url}, but it is not a NATS server${cluster ? ' (free its port, or change nats/cluster/*.conf)' : ': set NATS_URL'}.`);
  if (nats.up && !nats.jetstream) fail(`The NATS server at ${url} (${nats.version}) has no JetStream: start it with -js.`);
  if (nats.up) say(`using NATS ${nats.version} at ${url}`);
  else if (only.has('nats')) await start();
  else fail(`Nothing answers at ${url}: ${otherwise}.`);
}

/**
 * The cluster's NATS user passwords (NATS_<USER>_PASSWORD, as nats/users.conf reads them): made once,
 * kept readable by their owner only, so that nodes and apps started later agree with those running.
 */
function clusterPasswords() {
  const file = join(root, PASSWORDS_FILE);
  if (!existsSync(file)) {
    mkdirSync(join(root, '.data', 'cluster'), { recursive: true });
    const lines = NATS_USERS.map((user) => `NATS_${user.toUpperCase()}_PASSWORD=${randomBytes(24).toString('base64url')}`);
    writeFileSync(file, lines.join('\n') + '\n', { mode: 0o600 });
    say(`made the cluster's NATS user passwords: ./${PASSWORDS_FILE}`);
  }
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(/=(.*)/s).slice(0, 2)),
  );
}

/** An app's NATS identity on the cluster: its own user. */
function asNatsUser(user) {
  return { NATS_USER: user, NATS_PASSWORD: passwords[`NATS_${user.toUpperCase()}_PASSWORD`] };
}

/** A node of the cluster: its config file and the client address that file sets (`listen:`). */
function clusterNode(name) {
  const conf = join('nats', 'cluster', `${name}.conf`);
  const listen = readFileSync(join(root, conf), 'utf8').match(/^listen:\s*(\S+)/m)?.[1];
  if (!listen) fail(`${conf} sets no client address (listen: HOST:PORT)`);
  return { name, conf, url: `nats://${listen}` };
}

async function startClusterNode({ name, conf, url }) {
  const binary = findNatsServer() ?? fail(`Nothing answers at ${url}. ${INSTALL_NATS_HINT}`);
  mkdirSync(join(root, '.data', 'cluster', name), { recursive: true });
  // The node's file with the NATS users included, their passwords from the environment.
  const withUsers = conf.replace(/\.conf$/, '-auth.conf');
  launch(`nats ${name}`, binary, ['-c', withUsers], passwords);
  await waitForNats(url);
  say(`started nats-server ${name} (${withUsers}) at ${url}, JetStream storing under ./.data/cluster/${name}`);
}

/** JetStream answers once the nodes have routes and elected a meta leader; the apps need it at start. */
async function jetStreamReady() {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const { NATS_USER: user, NATS_PASSWORD: pass } = asNatsUser('operator');
  const nc = await connect({ servers: natsUrl.split(','), user, pass, inboxPrefix: '_INBOX.operator' });
  try {
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      try {
        await jetstreamManager(nc);
        return say(`JetStream is up on the cluster; the apps use ${natsUrl} with 3 replicas, each as its own NATS user (nats/users.conf)`);
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await stop(1, `JetStream did not come up on the cluster at ${natsUrl} within 30 s (is a node missing?)`);
  } finally {
    await nc.close();
  }
}

async function waitForNats(url) {
  for (let i = 0; i < 50 && !(await probeNats(url)).up; i++) await new Promise((r) => setTimeout(r, 100));
  if (!(await probeNats(url)).up) await stop(1, `the nats-server did not come up at ${url}`);
}

async function startLocalNats() {
  const binary = findNatsServer();
  const { hostname, port } = new URL(natsUrl.split(',')[0]);
  const local = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(hostname);
  if (!binary || !local) fail(`Nothing answers at ${natsUrl}. ${local ? INSTALL_NATS_HINT : 'Start that server, or set NATS_URL.'}`);
  const store = join(root, '.data', 'nats');
  mkdirSync(store, { recursive: true });
  launch('nats', binary, ['-js', '-a', hostname === 'localhost' ? '127.0.0.1' : hostname.replace(/[[\]]/g, ''), '-p', port || '4222', '-sd', store]);
  await waitForNats(natsUrl);
  say(`started a local nats-server at ${natsUrl}, JetStream storing under ./.data/nats`);
  say('that nats-server runs WITHOUT auth (loopback only): any local program may use it; see nats/server-auth.conf for NATS users');
}

function launch(name, command, args, env = {}) {
  // Own process group: Ctrl-C reaches this script only, which then stops each child in order.
  const child = spawn(command, args, {
    cwd: root,
    env: { ...appEnv, ...env },
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
