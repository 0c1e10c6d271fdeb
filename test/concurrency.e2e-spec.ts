import { describe, expect, it } from 'vitest';
import { McpTestClient, refusalOf } from './harness/mcp-client.js';
import { useSystem } from './harness/use-system.js';

const environment = { os: 'Linux', python_version: '3.13.1' };
const OUTCOMES = ['passed', 'failed', 'skipped', 'error', 'xfailed', 'xpassed'] as const;

const suite = useSystem({ gateways: 2 });

/** Sends `calls` with at most `inFlight` at once. */
async function inParallel<T>(calls: Array<() => Promise<T>>, inFlight: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < calls.length) {
        const i = next++;
        results[i] = await calls[i]!();
      }
    }),
  );
  return results;
}

describe('many writers at once', () => {
  it('keeps each of many concurrent sessions exact', async () => {
    const AGENTS = 24;
    const PER_SESSION = 36;
    const clients = await Promise.all(
      Array.from({ length: AGENTS }, (_, i) => McpTestClient.http(suite.system.gateways[i % 2]!.mcpUrl, { name: `agent-${i}` })),
    );
    try {
      await Promise.all(
        clients.map(async (client, agent) => {
          const { session_id } = await client.ok('record_session_start', { environment, labels: { agent: String(agent) } });
          const expected = { passed: 0, failed: 0, skipped: 0, error: 0, xfailed: 0, xpassed: 0, total: PER_SESSION };
          const calls = Array.from({ length: PER_SESSION }, (_, i) => {
            const outcome = OUTCOMES[(i + agent) % OUTCOMES.length]!;
            expected[outcome]++;
            return () => client.ok('record_test_outcome', { nodeid: `tests/agent_${agent}.py::test_${i}`, outcome, duration: i / 100 });
          });
          await inParallel(calls, 6);
          const { seq } = await client.ok('record_session_finish', {
            summary: { total_tests: PER_SESSION, passed: expected.passed, failed: expected.failed, skipped: expected.skipped, exitstatus: 1 },
          });
          const view = await client.ok('get_session', {});
          expect(view).toMatchObject({ session_id, status: 'finished', counts: expected, last_seq: seq, labels: { agent: String(agent) } });
          expect(view.summary_matches).toBe(true);
          expect(await suite.system.probe.results(session_id)).toHaveLength(PER_SESSION);
        }),
      );
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('accepts and orders every concurrent write to one session from two gateways', async () => {
    const [a, b] = await Promise.all(suite.system.gateways.map((g) => McpTestClient.http(g.mcpUrl)));
    try {
      const session_id = 'shared-by-two-gateways';
      await a!.ok('record_session_start', { session_id, environment });
      const calls = Array.from(
        { length: 160 },
        (_, i) => () =>
          (i % 2 ? a! : b!).ok('record_test_outcome', { session_id, nodeid: `tests/test_shared.py::test_${i}`, outcome: 'passed', duration: 0.01 }),
      );
      const acks = await inParallel(calls, 32);
      expect(acks.every((ack) => !ack.duplicate)).toBe(true);

      const events = await suite.system.probe.events(session_id);
      expect(events.map((e) => e.event.version)).toEqual(events.map((_, i) => i + 1));
      const results = await suite.system.probe.results(session_id);
      expect(results).toHaveLength(160);
      expect(new Set(results.map((r) => r.nodeid)).size).toBe(160);
      const last = Math.max(...acks.map((ack) => ack.seq));
      const view = (await suite.system.probe.request<{ response: Record<string, any> }>('get-session', { session_id, owner: 'local', min_seq: last })).response;
      expect(view.counts).toMatchObject({ passed: 160, total: 160 });
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  it('lets exactly one of two racing finishes win, and stores no outcome after it', async () => {
    const [a, b] = await Promise.all(suite.system.gateways.map((g) => McpTestClient.http(g.mcpUrl)));
    try {
      for (let round = 0; round < 5; round++) {
        const session_id = `finish-race-${round}`;
        await a!.ok('record_session_start', { session_id, environment });
        const summary = (exitstatus: number) => ({ total_tests: 0, passed: 0, failed: 0, skipped: 0, exitstatus });
        const racing = await Promise.all([
          a!.call('record_session_finish', { session_id, summary: summary(0) }),
          b!.call('record_session_finish', { session_id, summary: summary(1) }),
          ...Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? a! : b!).call('record_test_outcome', { session_id, nodeid: `t::${i}`, outcome: 'passed', duration: 0 }),
          ),
        ]);
        const [finishA, finishB, ...outcomes] = racing;
        expect([finishA.isError, finishB.isError].filter(Boolean)).toHaveLength(1);
        const loser = finishA.isError ? finishA : finishB;
        expect(refusalOf('record_session_finish', loser).code).toBe('SESSION_ALREADY_FINISHED');
        for (const outcome of outcomes) {
          if (outcome.isError) expect(refusalOf('record_test_outcome', outcome).code).toBe('SESSION_FINISHED');
        }
        const types = (await suite.system.probe.events(session_id)).map((e) => e.event.type);
        expect(types.filter((t) => t === 'SessionFinished')).toHaveLength(1);
        expect(types.at(-1)).toBe('SessionFinished');
        const stored = (await suite.system.probe.results(session_id)).length;
        expect(stored).toBe(outcomes.filter((o) => !o.isError).length);
      }
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });
});
