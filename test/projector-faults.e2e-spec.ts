import { describe, expect, it } from 'vitest';
import { distEntry } from './harness/apps.js';
import { McpTestClient } from './harness/mcp-client.js';
import { Proc, sleep } from './harness/processes.js';
import { useSystem } from './harness/use-system.js';

const SESSIONS = 6;
const OUTCOMES = 120;
const outcomes = ['passed', 'failed', 'skipped', 'error', 'xfailed', 'xpassed'] as const;

const suite = useSystem();

/** Records OUTCOMES outcomes (8 in flight) and a matching finish in its own session. */
async function recordSession(client: McpTestClient, index: number) {
  const session_id = `faults-${index}`;
  await client.ok('record_session_start', { session_id, environment: { os: 'Linux', python_version: '3.13.1' } });
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (let i = 0; i < OUTCOMES; i += 8) {
    await Promise.all(
      Array.from({ length: 8 }, (_, j) => {
        const outcome = outcomes[(i + j) % 3]!;
        counts[outcome as keyof typeof counts]++;
        return client.ok('record_test_outcome', { nodeid: `tests/test_${index}.py::test_${i + j}`, outcome, duration: 0.001 * j });
      }),
    );
  }
  const summary = { total_tests: OUTCOMES, ...counts, exitstatus: 1 };
  const finish = await client.ok('record_session_finish', { summary });
  return { session_id, finish };
}

const getSession = (session_id: string, min_seq?: number) =>
  suite.system.probe.request<{ response?: Record<string, any>; err?: unknown }>('get-session', { session_id, min_seq }, 10_000);

describe('the projector under faults', () => {
  it('loses nothing and counts nothing twice when SIGKILLed mid-stream and restarted', async () => {
    const clients = await Promise.all(Array.from({ length: SESSIONS }, () => McpTestClient.http(suite.system.gateway.mcpUrl)));
    try {
      const writing = Promise.all(clients.map((client, i) => recordSession(client, i)));
      for (let kill = 0; kill < 3; kill++) {
        await sleep(300);
        await suite.system.projector.restart({ kill: true });
      }
      const sessions = await writing;
      for (const { session_id, finish } of sessions) {
        const { response: view, err } = await getSession(session_id, finish.seq);
        expect(err, suite.system.logs).toBeUndefined();
        expect(view).toMatchObject({
          status: 'finished',
          counts: { passed: OUTCOMES / 3, failed: OUTCOMES / 3, skipped: OUTCOMES / 3, total: OUTCOMES },
          summary_matches: true,
          last_seq: finish.seq,
        });
      }
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('rebuilds the read models from the stream into a fresh bucket, giving the same views', async () => {
    const ids = Array.from({ length: SESSIONS }, (_, i) => `faults-${i}`);
    const before = await Promise.all(ids.map(async (id) => (await getSession(id)).response));
    await suite.system.projector.stop();
    const rebuild = Proc.spawn('rebuild', process.execPath, [distEntry('apps/projector/src/rebuild.js')], suite.system.env);
    expect(await rebuild.finished(), rebuild.logs).toBe(0);
    expect(rebuild.logs).toMatch(/rebuilt the session views from \d+ stream sequences/);
    const rebuilt = await Promise.all(ids.map(async (id) => (await getSession(id)).response));
    expect(rebuilt).toEqual(before);
    await suite.system.projector.restart();
    const session = await McpTestClient.http(suite.system.gateway.mcpUrl);
    try {
      const { seq } = await session.ok('record_session_start', { session_id: 'after-rebuild', environment: { os: 'Linux', python_version: '3.13.1' } });
      expect((await getSession('after-rebuild', seq)).response).toMatchObject({ status: 'running', last_seq: seq });
    } finally {
      await session.close();
    }
  });
});
