import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from './harness/apps.js';
import { environment } from './harness/fixtures.js';
import { McpTestClient } from './harness/mcp-client.js';
import { Proc } from './harness/processes.js';
import { System } from './harness/system.js';

/** The example programs the docs show, run as a reader would run them. */
describe('examples', () => {
  let system: System;
  let client: McpTestClient;
  const watchers: Proc[] = [];

  beforeAll(async () => {
    system = await System.start();
    client = await McpTestClient.http(system.gateway.mcpUrl);
  });

  afterAll(async () => {
    await Promise.all(watchers.map((watcher) => watcher.stop()));
    await client?.close();
    await system?.stop();
  });

  const watch = async (...args: string[]): Promise<Proc> => {
    const watcher = Proc.spawn('watch-changes', process.execPath, [join(root, 'examples/watch-changes.mjs'), ...args], { NATS_URL: system.nats.url });
    watchers.push(watcher);
    await watcher.waitFor(/^watching /m);
    return watcher;
  };

  it('watch-changes prints each change of a session, of every project or of one', async () => {
    const [all, ofProject, ofOther] = await Promise.all([watch(), watch('shop floor/ü'), watch('other')]);
    await client.ok('record_session_start', { session_id: 'watched-1', environment, project: 'shop floor/ü' });
    await client.ok('record_test_outcome', { session_id: 'watched-1', nodeid: 't.py::test_a', outcome: 'failed', duration: 0.1 });
    await client.ok('record_session_finish', { session_id: 'watched-1', summary: { total_tests: 1, passed: 0, failed: 1, skipped: 0, exitstatus: 1 } });
    for (const watcher of [all, ofProject]) await watcher.waitFor(/^local\/watched-1 finished: 0 passed, 1 failed of 1$/m);
    expect(ofOther.logs).not.toMatch(/watched-1/);
  });

  it('nats-request asks the query app and prints its answer', async () => {
    await client.ok('record_session_start', { session_id: 'asked-1', environment });
    const ask = (...args: string[]) =>
      promisify(execFile)(process.execPath, [join(root, 'examples/nats-request.mjs'), ...args], { env: { ...process.env, NATS_URL: system.nats.url } });
    const answer = JSON.parse((await ask('get-session', '{"session_id":"asked-1","owner":"local","min_seq":1}')).stdout) as {
      response?: { session_id: string; status: string };
    };
    expect(answer.response).toMatchObject({ session_id: 'asked-1', status: 'running' });
    await expect(ask()).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('usage: node examples/nats-request.mjs') });
  });
});
