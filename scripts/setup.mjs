// What `npm start`, `npm test` and the stdio launcher share: install, build, find NATS. Node built-ins only,
// so it runs on a fresh clone before anything is installed.
import { spawn } from 'node:child_process';
import { existsSync, statSync, accessSync, constants } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

/** Writes progress where it does not disturb the caller's stdout (stdio MCP keeps stdout for itself). */
export const say = (message) => process.stderr.write(`[mcp-pytest] ${message}\n`);

export function fail(message) {
  say(message);
  process.exit(1);
}

export function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) fail(`Node.js 20.19 or newer is needed; this is ${process.version}.`);
}

/** Runs a command with its output on stderr; resolves on exit 0, rejects otherwise. */
export function run(command, args, { cwd = root, env = process.env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', process.stderr, process.stderr] });
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${signal ?? code}`))));
  });
}

/** `npm ci` when node_modules is missing or older than package-lock.json. */
export async function ensureInstalled() {
  const installed = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  say('installing dependencies (npm ci) …');
  await run(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['ci', '--no-audit', '--no-fund']);
}

/** Compiles the apps and libs to dist/ (incremental: a no-op build takes about a second). */
export async function build() {
  await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
}

/** The nats-server binary: $NATS_SERVER_BIN, else on PATH, else where Debian installs it. */
export function findNatsServer() {
  const candidates = [
    process.env.NATS_SERVER_BIN,
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'nats-server')),
    '/usr/sbin/nats-server',
    '/usr/local/bin/nats-server',
  ];
  return candidates.find((path) => {
    if (!path) return false;
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export const INSTALL_NATS_HINT =
  'Install nats-server: on Debian/Ubuntu `sudo apt-get install nats-server`, on macOS `brew install nats-server`; ' +
  'or point NATS_URL at a NATS server with JetStream, or use `docker compose up`.';

/**
 * Asks the first server of `url` for its INFO line: `{ up: false }` when nothing answers,
 * `{ up: true, notNats: true }` when something else does, else whether it has JetStream.
 */
export function probeNats(url) {
  const { hostname, port } = new URL(url.split(',')[0].trim());
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 4222) });
    let data = '';
    const done = (result) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(2000, () => done({ up: false }));
    socket.on('error', () => done({ up: false }));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      const line = data.split('\r\n')[0];
      if (!data.includes('\r\n')) return;
      try {
        const info = JSON.parse(line.replace(/^INFO\s+/, ''));
        done({ up: true, jetstream: Boolean(info.jetstream), version: info.version });
      } catch {
        done({ up: true, notNats: true });
      }
    });
  });
}
