import { describe, expect, it } from 'vitest';
import { root } from './harness/apps.js';
import { McpTestClient } from './harness/mcp-client.js';
import { useSystem } from './harness/use-system.js';

const suite = useSystem();

/** Records a small session through `client` and reads it back. */
async function recordAndRead(client: McpTestClient) {
  const { session_id } = await client.ok('record_session_start', { environment: { os: 'Windows', python_version: '3.10.11' } });
  await client.ok('record_test_outcome', { nodeid: 'tests/test_io.py::test_read', outcome: 'passed', duration: 0.003 });
  await client.ok('record_test_outcome', { nodeid: 'tests/test_io.py::test_write', outcome: 'failed', duration: 0.004, error: 'OSError' });
  await client.ok('record_test_outcome', { nodeid: 'tests/test_io.py::test_net', outcome: 'skipped', duration: 0 });
  await client.ok('record_session_finish', { summary: { total_tests: 3, passed: 1, failed: 1, skipped: 1, exitstatus: 1 } });
  return { session_id, view: await client.ok('get_session', {}) };
}

describe('the gateway over stdio', () => {
  it('records a session and reads it back, with nothing but MCP on stdout', async () => {
    const client = await McpTestClient.stdio(suite.system.env);
    try {
      const { session_id, view } = await recordAndRead(client);
      expect(view).toMatchObject({ session_id, status: 'finished', counts: { passed: 1, failed: 1, skipped: 1, total: 3 } });
      const events = await suite.system.probe.events(session_id);
      expect(events[0]!.event.actor).toMatchObject({ agent: 'local', via: 'stdio', client: 'e2e-stdio/1.0.0' });
      expect(client.transportErrors).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('runs as the documented `npm run -s gateway:stdio`', async () => {
    const client = await McpTestClient.stdio(suite.system.env, { command: 'npm', args: ['run', '-s', 'gateway:stdio'], cwd: root });
    try {
      const { view } = await recordAndRead(client);
      expect(view.counts.total).toBe(3);
      expect(client.transportErrors).toEqual([]);
    } finally {
      await client.close();
    }
  });
});
