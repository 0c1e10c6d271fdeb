import { describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { eventSubject } from '#contracts';
import { successorMsgId } from '#nats';
import { McpTestClient } from './harness/mcp-client.js';
import { useSystem } from './harness/use-system.js';

const environment = { os: 'Linux', python_version: '3.13.1' };
const summary = { total_tests: 1, passed: 1, failed: 0, skipped: 0, exitstatus: 0 };

// A write cache of 3 results: sessions are evicted and reloaded from the stream all the time.
const suite = useSystem({ gateways: 2, env: { WRITE_CACHE_RESULTS: '3', WRITE_CACHE_KEEP_SECONDS: '0' } });

describe('a retried call is counted once', () => {
  it('answers a retried start, outcome and finish with the first write, and stores one event each', async () => {
    const session_id = 'retry-basic';
    const start = await suite.client.ok('record_session_start', { session_id, environment });
    expect(await suite.client.ok('record_session_start', { session_id, environment: { python_version: '3.13.1', os: 'Linux' } })).toEqual({
      ...start,
      duplicate: true,
    });
    const outcome = { session_id, nodeid: 'tests/test_a.py::test_a', outcome: 'passed', duration: 0.25 };
    const first = await suite.client.ok('record_test_outcome', outcome);
    expect(await suite.client.ok('record_test_outcome', outcome)).toEqual({ ...first, duplicate: true });
    const finish = await suite.client.ok('record_session_finish', { session_id, summary });
    expect(await suite.client.ok('record_session_finish', { session_id, summary })).toEqual({ ...finish, duplicate: true });

    expect((await suite.system.probe.events(session_id)).map((e) => e.event.type)).toEqual(['SessionStarted', 'TestOutcomesRecorded', 'SessionFinished']);
    expect((await suite.client.ok('get_session', { session_id })).counts).toMatchObject({ passed: 1, total: 1 });
  });

  it('recognises retries that arrive together, on another connection, on another gateway, or after a restart', async () => {
    const session_id = 'retry-everywhere';
    await suite.client.ok('record_session_start', { session_id, environment });
    const outcome = { session_id, nodeid: 'tests/test_b.py::test_b', outcome: 'failed', duration: 1.5, error: 'assert False' };
    const answers = await Promise.all(Array.from({ length: 8 }, () => suite.client.ok('record_test_outcome', outcome)));
    expect(new Set(answers.map((a) => a.seq)).size).toBe(1);
    expect(answers.filter((a) => !a.duplicate)).toHaveLength(1);

    const other = await McpTestClient.http(suite.system.gateways[1]!.mcpUrl);
    try {
      expect(await other.ok('record_test_outcome', outcome)).toMatchObject({ seq: answers[0]!.seq, duplicate: true });
    } finally {
      await other.close();
    }
    await suite.system.gateway.restart();
    const afterRestart = await McpTestClient.http(suite.system.gateway.mcpUrl);
    try {
      expect(await afterRestart.ok('record_test_outcome', outcome)).toMatchObject({ seq: answers[0]!.seq, duplicate: true });
    } finally {
      await afterRestart.close();
    }
    expect(await suite.system.probe.results(session_id)).toHaveLength(1);
    suite.client = await McpTestClient.http(suite.system.gateway.mcpUrl);
  });

  it('recognises a retry for a session the gateway evicted from its cache', async () => {
    const write = (session_id: string, i: number) => suite.client.ok('record_test_outcome', { session_id, nodeid: `t::${i}`, outcome: 'passed', duration: i });
    for (const session_id of ['evicted-a', 'evicted-b']) {
      await suite.client.ok('record_session_start', { session_id, environment });
      for (let i = 0; i < 5; i++) await write(session_id, i);
    }
    const first = (await suite.system.probe.events('evicted-a'))[1]!;
    expect(await write('evicted-a', 0)).toMatchObject({ seq: first.seq, duplicate: true });
    expect(await write('evicted-a', 5)).toMatchObject({ duplicate: false });
    expect(await suite.system.probe.results('evicted-a')).toHaveLength(6);
  });

  it('reloads a long session from the stream after a gateway restart and still recognises a retry', async () => {
    const session_id = 'long-history';
    await suite.client.ok('record_session_start', { session_id, environment });
    const write = (i: number) => suite.client.ok('record_test_outcome', { session_id, nodeid: `t::${i}`, outcome: 'passed', duration: i });
    const first = await write(0);
    for (let i = 1; i < 120; i++) await write(i);
    await suite.system.gateway.restart();
    suite.client = await McpTestClient.http(suite.system.gateway.mcpUrl);
    expect(await write(0)).toMatchObject({ seq: first.seq, duplicate: true });
    expect(await write(119)).toMatchObject({ duplicate: true });
    expect(await write(120)).toMatchObject({ duplicate: false });
    expect(await suite.system.probe.results(session_id)).toHaveLength(121);
  });

  it('lets JetStream drop a republished event by its Nats-Msg-Id', async () => {
    const session_id = 'retry-msg-id';
    await suite.client.ok('record_session_start', { session_id, environment });
    const [stored] = await suite.system.probe.events(session_id);
    const before = await suite.system.probe.eventCount();
    const subject = eventSubject({ owner: 'local', sessionId: session_id });
    // The id of the change that follows nothing: the session's first event.
    const ack = await jetstream(suite.system.probe.nc).publish(subject, JSON.stringify(stored!.event), { msgID: successorMsgId(subject, 0) });
    expect(ack).toMatchObject({ duplicate: true, seq: stored!.seq });
    expect(await suite.system.probe.eventCount()).toBe(before);
  });
});
