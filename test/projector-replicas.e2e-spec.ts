import { Kvm } from '@nats-io/kv';
import { describe, expect, it } from 'vitest';
import { EVENT_PARTITIONS, PROJECTOR_LEASES_BUCKET } from '#contracts';
import type { App } from './harness/apps.js';
import { McpTestClient } from './harness/mcp-client.js';
import { eventually } from './harness/processes.js';
import { useSystem } from './harness/use-system.js';

const REPLICAS = 3;
const SESSIONS = 24;
const OUTCOMES = 40;

const suite = useSystem({ projectors: REPLICAS });

/** Which replica (its process id) holds each partition's lease, by the partition's consumer name. */
async function leaseHolders(): Promise<Map<string, number>> {
  const kv = await new Kvm(suite.system.probe.nc).open(PROJECTOR_LEASES_BUCKET);
  const holders = new Map<string, number>();
  for await (const key of await kv.keys('partition.>')) {
    const replica = (await kv.get(key))?.string();
    // A replica names itself `<host>-<pid>-<random>`.
    if (replica) holders.set(key.slice('partition.'.length), Number(replica.split('-').at(-2)));
  }
  return holders;
}

const held = (holders: Map<string, number>, replica: App) => [...holders.values()].filter((pid) => pid === replica.pid).length;

/** Records OUTCOMES outcomes one at a time and a finish in a session of its own; what the view must show. */
async function recordSession(index: number) {
  const client = await McpTestClient.http(suite.system.gateway.mcpUrl);
  try {
    const session_id = `replicas-${index}`;
    await client.ok('record_session_start', { session_id, environment: { os: 'Linux', python_version: '3.13.1' } });
    for (let i = 0; i < OUTCOMES; i++) {
      await client.ok('record_test_outcome', { nodeid: `tests/test_${index}.py::test_${i}`, outcome: i % 4 === 0 ? 'failed' : 'passed', duration: 0.001 });
    }
    const failed = Math.ceil(OUTCOMES / 4);
    const finish = await client.ok('record_session_finish', {
      summary: { total_tests: OUTCOMES, passed: OUTCOMES - failed, failed, skipped: 0, exitstatus: 1 },
    });
    return { session_id, index, seq: finish.seq as number, failed };
  } finally {
    await client.close();
  }
}

type Reply = { response?: Record<string, any>; err?: { code: string } };
const read = (pattern: string, session_id: string) => suite.system.probe.request<Reply>(pattern, { session_id, owner: 'local' }, 10_000);

describe('projector replicas', () => {
  it('share the partitions evenly, each partition held by one replica', async () => {
    const holders = await eventually(
      async () => {
        const now = await leaseHolders();
        const share = Math.ceil(EVENT_PARTITIONS / REPLICAS);
        return now.size === EVENT_PARTITIONS && suite.system.projectors.every((replica) => held(now, replica) > 0 && held(now, replica) <= share) && now;
      },
      20_000,
      'every partition leased, each replica holding its share',
    );
    expect(suite.system.projectors.reduce((sum, replica) => sum + held(holders, replica), 0)).toBe(EVENT_PARTITIONS);
  });

  it('fold every event once and in order while a replica is SIGKILLed: its partitions move to the others', async () => {
    const [victim, ...survivors] = suite.system.projectors;
    const writing = Promise.all(Array.from({ length: SESSIONS }, (_, index) => recordSession(index)));
    // Killed while the sessions are being written, holding partitions with events in flight.
    await eventually(async () => (await suite.system.probe.eventCount()) > (SESSIONS * OUTCOMES) / 3, 30_000, 'a third of the writes');
    expect(held(await leaseHolders(), victim!)).toBeGreaterThan(0);
    const killedAt = performance.now();
    await victim!.proc.kill();
    const holders = await eventually(
      async () => {
        const now = await leaseHolders();
        return now.size === EVENT_PARTITIONS && held(now, victim!) === 0 && now;
      },
      30_000,
      "the killed replica's partitions taken over",
    );
    console.info(`the killed replica's partitions were taken over ${Math.round(performance.now() - killedAt)} ms after its SIGKILL`);
    expect(survivors.reduce((sum, replica) => sum + held(holders, replica), 0)).toBe(EVENT_PARTITIONS);

    for (const { session_id, index, seq, failed } of await writing) {
      const view = await eventually(
        async () => {
          const { response } = await read('get-session', session_id);
          return response?.last_seq === seq && response;
        },
        30_000,
        `${session_id} folded through sequence ${seq}`,
      );
      expect(view.stuck ?? null, session_id).toBeNull();
      expect(view.counts, session_id).toMatchObject({ passed: OUTCOMES - failed, failed });
      const { response: tests } = await read('get-session-tests', session_id);
      expect(tests!.tests, session_id).toHaveLength(OUTCOMES);
      // In the order recorded: the session's events were folded in order.
      const recorded = Array.from({ length: OUTCOMES }, (_, i) => `tests/test_${index}.py::test_${i}`);
      expect(
        tests!.tests.map((test: { nodeid: string }) => test.nodeid),
        session_id,
      ).toEqual(recorded);
    }
  });
});
