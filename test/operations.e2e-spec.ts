import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from './harness/apps.js';
import { environment } from './harness/fixtures.js';
import { McpTestClient } from './harness/mcp-client.js';
import { NatsServer } from './harness/nats-server.js';
import { freePort, Proc } from './harness/processes.js';

/** The operations of docs/operations.md, run as written: apps started and stopped one at a time with NATS staying up, and the rebuild between. */
describe('operations as docs/operations.md has them', () => {
  let nats: NatsServer;
  let dataDir: string;
  let env: Record<string, string>;
  const running: Proc[] = [];

  beforeAll(async () => {
    nats = await NatsServer.start();
    dataDir = mkdtempSync(join(tmpdir(), 'mcp-pytest-operations-'));
    env = { NATS_URL: nats.url, READ_MODEL_URL: `sqlite:${join(dataDir, 'read-models.sqlite')}`, GATEWAY_PORT: String(await freePort()), QUERY_HTTP_PORT: '0' };
  });

  afterAll(async () => {
    await Promise.all(running.map((proc) => proc.stop('SIGINT')));
    await nats?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** `npm start -- --only …` (what `npm run projector` runs). */
  const start = (only: string) => {
    const proc = Proc.spawn(`start --only ${only}`, process.execPath, [join(root, 'scripts/start.mjs'), '--only', only], env);
    running.push(proc);
    return proc;
  };

  it('runs the projector on its own beside the gateway and query app, and rebuilds between its stop and start', async () => {
    const front = start('gateway,query');
    await front.waitFor(/running gateway, query|running query, gateway/, 60_000);
    await front.waitFor(/MCP Streamable HTTP at/, 30_000);
    let projector = start('projector');
    await projector.waitFor(/folding PYTEST_EVENTS/, 60_000);

    const client = await McpTestClient.http(new URL(`http://127.0.0.1:${env.GATEWAY_PORT}/mcp`));
    try {
      const { session_id } = await client.ok('record_session_start', { environment, project: 'ops' });
      await client.ok('record_test_outcome', { session_id, nodeid: 't.py::test_a', outcome: 'passed', duration: 0.1 });
      expect((await client.ok('get_session', { session_id })).counts.total).toBe(1);

      // Stopping the projector stops it alone: NATS and the other apps go on.
      expect(await projector.stop('SIGINT')).toBe(0);
      expect(front.running).toBe(true);
      await client.ok('record_test_outcome', { session_id, nodeid: 't.py::test_b', outcome: 'failed', duration: 0.1 });

      const rebuild = Proc.spawn('rebuild', process.execPath, [join(root, 'scripts/run.mjs'), 'dist/apps/projector/src/main.rebuild.js'], env);
      expect(await rebuild.finished(120_000), rebuild.logs).toBe(0);

      projector = start('projector');
      await projector.waitFor(/folding PYTEST_EVENTS/, 60_000);
      const { counts } = await client.ok('get_session', { session_id });
      expect(counts).toMatchObject({ passed: 1, failed: 1, total: 2 });
      const { sessions } = await client.ok('list_sessions', { project: 'ops' });
      expect(sessions.map((s: { session_id: string }) => s.session_id)).toEqual([session_id]);
    } finally {
      await client.close();
    }
    // Four `npm start` processes and a rebuild, each starting node: ~30 s on a quiet machine.
  }, 120_000);

  it('says what to run when an app is started alone and no NATS answers, and names a part it does not know', async () => {
    const alone = Proc.spawn('start --only projector', process.execPath, [join(root, 'scripts/start.mjs'), '--only', 'projector'], {
      ...env,
      NATS_URL: `nats://127.0.0.1:${await freePort()}`,
    });
    expect(await alone.finished(60_000)).toBe(1);
    expect(alone.logs).toMatch(/Nothing answers at nats:\/\/127\.0\.0\.1:\d+: start NATS first \(`npm run nats` runs a local one\)/);
    const unknown = Proc.spawn('start --only projectr', process.execPath, [join(root, 'scripts/start.mjs'), '--only', 'projector,projectr'], env);
    expect(await unknown.finished(10_000)).toBe(1);
    expect(unknown.logs).toContain('--only projector,projectr: name some of nats, projector, query, gateway (not projectr)');
  });

  it('runs `mcp-pytest` on a fresh clone: it builds first, then does what was asked', async () => {
    const clone = mkdtempSync(join(tmpdir(), 'mcp-pytest-clone-'));
    try {
      // The project's files as a clone has them (no dist/), with this checkout's dependencies installed.
      const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
      for (const file of files) {
        mkdirSync(dirname(join(clone, file)), { recursive: true });
        cpSync(join(root, file), join(clone, file));
      }
      symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'));
      utimesSync(join(clone, 'package-lock.json'), new Date(0), new Date(0));
      const cli = Proc.spawn('mcp-pytest', process.execPath, [
        join(clone, 'bin/mcp-pytest.mjs'),
        'keys',
        'add',
        '--agent',
        'ci-1',
        '--grant',
        'ci',
        '--file',
        join(clone, 'keys.json'),
      ]);
      expect(await cli.finished(180_000), cli.logs).toBe(0);
      expect(cli.logs).toContain('mcp-pytest is not built yet: installing and building (once)');
      expect(JSON.parse(readFileSync(join(clone, 'keys.json'), 'utf8'))).toMatchObject({ keys: [{ agent: 'ci-1', grant: 'ci' }] });
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
  });
});
