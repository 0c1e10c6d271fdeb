import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '#contracts';
import { environment } from './harness/fixtures.js';
import { McpTestClient, refusalOf } from './harness/mcp-client.js';
import { PolicyFiles } from './harness/policy-files.js';
import { System } from './harness/system.js';

const item = (i: number, extra: Record<string, unknown> = {}) => ({
  nodeid: `tests/test_batch.py::test_${i}`,
  outcome: 'passed',
  duration: 0.01 * i,
  ...extra,
});
const items = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => item(from + i));

const policy = {
  version: '1',
  default: 'allow',
  tools: {
    record_test_outcomes: {
      deny_if: [{ path: 'args.outcomes.nodeid', op: 'matches', value: '^secret/' }],
      on_deny: 'tests under secret/ are not recorded here',
      limits: [{ counter: 'batches', window: 'day', max: 40 }],
    },
  },
};

describe('record_test_outcomes: many outcomes in one call, all or nothing', () => {
  const files = PolicyFiles.create(policy);
  let system: System;
  let ci: McpTestClient;
  let other: McpTestClient;

  beforeAll(async () => {
    const [ciKey, otherKey] = [await files.addKey('ci-runner-1', 'ci'), await files.addKey('agent-7', 'agents')];
    system = await System.start({ env: { KEYS_FILE: files.keys, POLICY_FILE: files.policy } });
    [ci, other] = await Promise.all([McpTestClient.http(system.gateway.mcpUrl, { key: ciKey }), McpTestClient.http(system.gateway.mcpUrl, { key: otherKey })]);
  });
  afterAll(async () => {
    await Promise.all([ci?.close(), other?.close()]);
    await system?.stop();
    files.dispose();
  });

  const counts = async (session_id: string) => (await ci.ok('get_session', { session_id })).counts;

  it(`stores a full batch of ${LIMITS.batchOutcomes} in one event, folded as single outcomes are`, async () => {
    await ci.ok('record_session_start', { session_id: 'full', environment });
    const outcomes = items(0, LIMITS.batchOutcomes).map((o, i) => (i % 10 === 0 ? { ...o, outcome: 'failed', error: `E${i}` } : o));
    const answer = await ci.ok('record_test_outcomes', { session_id: 'full', outcomes });
    expect(answer).toEqual({ session_id: 'full', seq: expect.any(Number), duplicate: false, recorded: LIMITS.batchOutcomes, duplicates: 0 });
    expect((await system.probe.events('full', 'ci')).map((e) => e.event.type)).toEqual(['SessionStarted', 'TestOutcomesRecorded']);

    await ci.ok('record_session_start', { session_id: 'singles', environment });
    for (const outcome of outcomes) await ci.ok('record_test_outcome', { session_id: 'singles', ...outcome });
    const [batch, singles] = [await ci.ok('get_session', { session_id: 'full' }), await ci.ok('get_session', { session_id: 'singles' })];
    expect(batch.counts).toEqual({ passed: 900, failed: 100, skipped: 0, error: 0, xfailed: 0, xpassed: 0, total: 1000 });
    const comparable = ({ counts, failures, slowest }: Record<string, unknown>) => ({ counts, failures, slowest });
    expect(comparable(batch)).toEqual(comparable(singles));
  });

  it('refuses a batch with one invalid item, naming its index, field and rule, and writes nothing', async () => {
    await ci.ok('record_session_start', { session_id: 'invalid', environment });
    const before = await system.probe.eventCount();
    const outcomes = items(0, 10);
    outcomes[7] = item(7, { outcome: 'exploded' });
    const refusal = await ci.refusal('record_test_outcomes', { session_id: 'invalid', outcomes });
    expect(refusal.code).toBe('INVALID_ARGUMENTS');
    expect(refusal.message).toMatch(/outcomes\.7\.outcome: .*passed/);
    expect(await ci.refusal('record_test_outcomes', { session_id: 'invalid', outcomes: items(0, LIMITS.batchOutcomes + 1) })).toMatchObject({
      message: expect.stringMatching(/outcomes: must hold at most 1000 outcomes/),
    });
    expect(await ci.refusal('record_test_outcomes', { session_id: 'invalid', outcomes: [] })).toMatchObject({
      message: expect.stringMatching(/outcomes: must hold at least one outcome/),
    });
    expect(await system.probe.eventCount()).toBe(before);
  });

  it('refuses a batch whose item conflicts with a recorded result, naming it, and stores none of its other items', async () => {
    await ci.ok('record_session_start', { session_id: 'conflict', environment });
    await ci.ok('record_test_outcome', { session_id: 'conflict', ...item(3) });
    const outcomes = items(0, 6);
    outcomes[3] = item(3, { outcome: 'failed' });
    const refusal = await ci.refusal('record_test_outcomes', { session_id: 'conflict', outcomes });
    expect(refusal).toEqual({
      code: 'OUTCOME_CONFLICT',
      message: expect.stringMatching(/^outcomes\.3: tests\/test_batch\.py::test_3 \(call, attempt 1\) is already recorded .*pass attempt: 2\.$/),
    });
    expect(await system.probe.results('conflict', 'ci')).toHaveLength(1);
  });

  it('counts nothing twice: a resent batch, and one that overlaps an earlier one', async () => {
    await ci.ok('record_session_start', { session_id: 'resent', environment });
    const first = await ci.ok('record_test_outcomes', { session_id: 'resent', outcomes: items(0, 50) });
    expect(await ci.ok('record_test_outcomes', { session_id: 'resent', outcomes: items(0, 50) })).toEqual({
      ...first,
      duplicate: true,
      recorded: 0,
      duplicates: 50,
    });
    const overlap = await ci.ok('record_test_outcomes', { session_id: 'resent', outcomes: items(25, 75) });
    expect(overlap).toMatchObject({ duplicate: false, recorded: 25, duplicates: 25 });
    const resentMany = await Promise.all(Array.from({ length: 5 }, () => ci.ok('record_test_outcomes', { session_id: 'resent', outcomes: items(60, 100) })));
    expect(resentMany.reduce((sum, a) => sum + a.recorded, 0)).toBe(25);
    expect(await system.probe.results('resent', 'ci')).toHaveLength(100);
    expect((await counts('resent')).total).toBe(100);
  });

  it('spreads a batch larger than one event over as few events as the event bound allows, and counts it all', async () => {
    await ci.ok('record_session_start', { session_id: 'large', environment });
    const traceback = 'E   AssertionError\n'.repeat(LIMITS.errorBytes / 19);
    const outcomes = items(0, 60).map((o) => ({ ...o, outcome: 'failed', error: 'AssertionError', longrepr: traceback }));
    const before = await system.probe.eventCount();
    const answer = await ci.ok('record_test_outcomes', { session_id: 'large', outcomes });
    const written = (await system.probe.eventCount()) - before;
    const bytesPerItem = JSON.stringify(outcomes[0]).length;
    expect(written).toBe(Math.ceil(outcomes.length / Math.floor(LIMITS.batchBytes / bytesPerItem)));
    expect(answer.seq).toBe((await system.probe.events('large', 'ci')).at(-1)!.seq);
    expect((await counts('large')).failed).toBe(60);
  });

  it('treats reruns in a batch as single outcomes do: the last attempt counts', async () => {
    await ci.ok('record_session_start', { session_id: 'reruns', environment });
    await ci.ok('record_test_outcomes', {
      session_id: 'reruns',
      outcomes: [item(1, { outcome: 'failed', attempt: 1 }), item(1, { attempt: 2 }), item(2, { outcome: 'error', when: 'setup' })],
    });
    expect(await counts('reruns')).toMatchObject({ passed: 1, failed: 0, error: 1, total: 2 });
  });

  it('applies the policy to every item, and its own limits per call', async () => {
    await ci.ok('record_session_start', { session_id: 'policed', environment });
    const before = await system.probe.eventCount();
    const outcomes = [...items(0, 3), { nodeid: 'secret/test_x.py::test_x', outcome: 'passed', duration: 1 }];
    expect(await ci.refusal('record_test_outcomes', { session_id: 'policed', outcomes })).toEqual({
      code: 'POLICY_DENIED',
      message: expect.stringContaining('tests under secret/ are not recorded here'),
    });
    expect(await system.probe.eventCount()).toBe(before);
    let refusal;
    for (let i = 0; i < 60 && !refusal; i++) {
      const result = await ci.call('record_test_outcomes', { session_id: 'policed', outcomes: [item(i)] });
      if (result.isError) refusal = refusalOf('record_test_outcomes', result);
    }
    expect(refusal).toEqual({ code: 'POLICY_DENIED', message: expect.stringContaining('(rule: tools.record_test_outcomes.limits[0])') });
  });

  it("writes only to the caller's own sessions: another grant's batch never reaches them", async () => {
    await ci.ok('record_session_start', { session_id: 'mine', environment });
    expect((await other.refusal('record_test_outcomes', { session_id: 'mine', outcomes: items(0, 3) })).code).toBe('SESSION_NOT_FOUND');
    expect(await system.probe.results('mine', 'ci')).toHaveLength(0);
    expect((await other.refusal('get_session', { session_id: 'mine', owner: 'ci' })).code).toBe('SESSION_ACCESS_DENIED');
  });
});
