import { describe, expect, it } from 'vitest';
import { eventually } from './harness/processes.js';
import { useSystem } from './harness/use-system.js';

const suite = useSystem({ env: { WRITE_TIMEOUT_MS: '1500' } });

const health = async () => (await fetch(new URL('/health', suite.system.gateway.mcpUrl))).status;

describe('NATS going away', () => {
  it('turns /health to 503 and refuses writes with an error, then recovers with every acknowledged write kept', async () => {
    const session_id = 'nats-restart';
    await suite.client.ok('record_session_start', { session_id, environment: { os: 'Linux', python_version: '3.13.1' } });
    for (let i = 0; i < 10; i++) await suite.client.ok('record_test_outcome', { nodeid: `t::before_${i}`, outcome: 'passed', duration: 0.1 });

    await suite.system.nats.stop();
    await eventually(async () => (await health()) === 503, 10_000, '/health to answer 503');
    const refusal = await suite.client.refused('record_test_outcome', { nodeid: 't::during', outcome: 'failed', duration: 0.1 });
    expect(refusal).toMatch(/^\[WRITE_UNAVAILABLE\] NATS did not acknowledge the write .* retry the same call/);

    await suite.system.nats.up();
    await suite.system.probe.reconnected();
    await eventually(async () => (await health()) === 200, 20_000, '/health to answer 200 again');
    await eventually(() => suite.client.ok('record_test_outcome', { nodeid: 't::during', outcome: 'failed', duration: 0.1 }), 20_000, 'a write');
    const finish = await suite.client.ok('record_session_finish', { summary: { total_tests: 11, passed: 10, failed: 1, skipped: 0, exitstatus: 1 } });

    expect(await suite.system.probe.results(session_id)).toHaveLength(11);
    const view = await eventually(
      async () => {
        const v = await suite.client.ok('get_session', {});
        return v.last_seq === finish.seq && v;
      },
      20_000,
      'the view to catch up',
    );
    expect(view).toMatchObject({ status: 'finished', counts: { passed: 10, failed: 1, total: 11 }, summary_matches: true });
  });
});
