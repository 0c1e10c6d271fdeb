import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { eventSubject } from '#contracts';
import { LEASE_TTL_MS } from '../apps/projector/src/partition-leases.js';
import { distEntry } from './harness/apps.js';
import { McpTestClient } from './harness/mcp-client.js';
import { eventually, Proc } from './harness/processes.js';
import { useSystem } from './harness/use-system.js';

const SESSIONS = 8;
const OUTCOMES = 150;
const outcomes = ['passed', 'failed', 'skipped'] as const;
const environment = { os: 'Linux', python_version: '3.13.1' };

// Small pulls make the projector's catch-up slow enough to be killed in the middle of it.
const suite = useSystem({ env: { PROJECTOR_BATCH: '5' } });

/** Records OUTCOMES outcomes (8 in flight) and a matching finish in its own session. */
async function recordSession(client: McpTestClient, index: number) {
  const session_id = `faults-${index}`;
  await client.ok('record_session_start', { session_id, environment: { os: 'Linux', python_version: '3.13.1' } });
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (let i = 0; i < OUTCOMES; i += 10) {
    await Promise.all(
      Array.from({ length: 10 }, (_, j) => {
        const outcome = outcomes[(i + j) % 3]!;
        counts[outcome]++;
        return client.ok('record_test_outcome', { nodeid: `tests/test_${index}.py::test_${i + j}`, outcome, duration: 0.001 * j });
      }),
    );
  }
  const finish = await client.ok('record_session_finish', { summary: { total_tests: OUTCOMES, ...counts, exitstatus: 1 } });
  return { session_id, seq: finish.seq as number };
}

type Reply = { response?: Record<string, any>; err?: { code: string } };
const getSession = (session_id: string) => suite.system.probe.request<Reply>('get-session', { session_id, owner: 'local' }, 10_000);

describe('the projector under faults', () => {
  it('loses nothing and counts nothing twice when SIGKILLed mid-stream and restarted', async () => {
    await suite.system.projector.stop();
    const clients = await Promise.all(Array.from({ length: SESSIONS }, () => McpTestClient.http(suite.system.gateway.mcpUrl)));
    const sessions = await Promise.all(clients.map((client, i) => recordSession(client, i)));
    await Promise.all(clients.map((c) => c.close()));
    const last = Math.max(...sessions.map((s) => s.seq));

    await suite.system.projector.restart();
    const atKill = await eventually(
      async () => {
        const folded = Math.max(...(await suite.system.probe.projectorConsumers()).map((info) => info.ack_floor.stream_seq));
        return folded > 0 && folded;
      },
      20_000,
      'the projector to start folding',
    );
    await suite.system.projector.restart({ kill: true });
    // Killed in the middle: some events folded, not all.
    expect(atKill).toBeLessThan(last);

    for (const { session_id, seq } of sessions) {
      const view = await eventually(
        async () => {
          const { response } = await getSession(session_id);
          return response?.last_seq === seq && response;
        },
        30_000,
        `the view of ${session_id} to reach ${seq}`,
      );
      expect(view, suite.system.logs()).toMatchObject({
        status: 'finished',
        counts: { passed: OUTCOMES / 3, failed: OUTCOMES / 3, skipped: OUTCOMES / 3, total: OUTCOMES },
        summary_matches: true,
      });
    }
  });

  it('folds on at once after it was paused past its leases (CPU starved, a long GC), nobody else having taken them', async () => {
    const client = await McpTestClient.http(suite.system.gateway.mcpUrl);
    try {
      suite.system.projector.proc.child.kill('SIGSTOP');
      await sleep(LEASE_TTL_MS + 1_500);
      suite.system.projector.proc.child.kill('SIGCONT');
      // Sessions enough to fall in every partition; each read waits (READ_WAIT_MS) for its own write.
      for (let i = 0; i < 3 * SESSIONS; i++) {
        const session_id = `paused-${i}`;
        await client.ok('record_session_start', { session_id, environment: { os: 'Linux', python_version: '3.13.1' } });
        expect(await client.ok('get_session', { session_id }), suite.system.logs(20)).toMatchObject({ session_id, status: 'running' });
      }
      expect(suite.system.projector.proc.logs).toMatch(/lease .*expired.* taken again/);
    } finally {
      await client.close();
    }
  });

  it('rebuilds the read models from the stream into fresh views, giving the same ones, a stuck session stuck at the same event', async () => {
    const writer = await McpTestClient.http(suite.system.gateway.mcpUrl);
    try {
      // A running session the projector goes on with after the rebuild, and one stuck at a message that is no event.
      await writer.ok('record_session_start', { session_id: 'running', environment });
      await writer.ok('record_test_outcome', { session_id: 'running', nodeid: 't::1', outcome: 'failed', duration: 0.1 });
      await writer.ok('record_session_start', { session_id: 'stuck', environment });
      const forged = await jetstream(suite.system.probe.nc).publish(eventSubject({ owner: 'local', sessionId: 'stuck' }), '{"type":"SessionFinished"}');
      await eventually(async () => (await getSession('stuck')).response?.stuck ?? undefined, 10_000, 'the forged event to leave the session stuck');

      const ids = [...Array.from({ length: SESSIONS }, (_, i) => `faults-${i}`), 'running', 'stuck'];
      const before = await Promise.all(ids.map(async (id) => (await getSession(id)).response));
      expect(before.at(-1)).toMatchObject({ stuck: { seq: forged.seq } });
      const rebuild = () => Proc.spawn('rebuild', process.execPath, [distEntry('apps/projector/src/main.rebuild.js')], suite.system.env);

      const refused = rebuild();
      expect(await refused.finished(), refused.logs).toBe(1);
      expect(refused.logs).toMatch(/a projector is running .*: stop it first/);

      await suite.system.projector.stop();
      const rebuilt = rebuild();
      expect(await rebuilt.finished(), rebuilt.logs).toBe(0);
      expect(rebuilt.logs).toMatch(/rebuilt the session views and read models from \d+ stream sequences/);
      expect(rebuilt.logs).toMatch(new RegExp(`session local.stuck is stuck at stream sequence ${forged.seq}`));
      // The same views, the stuck mark saying when the rebuild met the event.
      const same = before.map((view) => (view?.stuck ? { ...view, stuck: { ...view.stuck, at: expect.any(String) } } : view));
      expect(await Promise.all(ids.map(async (id) => (await getSession(id)).response))).toEqual(same);

      // The projector goes on after the events the rebuild folded: with a session it folded, and a new one.
      await suite.system.projector.restart();
      const { seq } = await writer.ok('record_test_outcome', { session_id: 'running', nodeid: 't::2', outcome: 'passed', duration: 0.1 });
      const { seq: newSeq } = await writer.ok('record_session_start', { session_id: 'after-rebuild', environment });
      const running = await suite.system.probe.request<Reply>('get-session', { session_id: 'running', owner: 'local', min_seq: seq });
      expect(running.response).toMatchObject({ status: 'running', last_seq: seq, counts: { total: 2, passed: 1, failed: 1 } });
      const { response } = await suite.system.probe.request<Reply>('get-session', { session_id: 'after-rebuild', owner: 'local', min_seq: newSeq });
      expect(response).toMatchObject({ status: 'running', last_seq: newSeq });
    } finally {
      await writer.close();
    }
  });
});
