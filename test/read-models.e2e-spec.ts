import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetFailureGroupsOutput, GetFlakyTestsOutput, GetSessionTestsOutput, GetTestHistoryOutput, ListSessionsOutput, type SessionListItem } from '#contracts';
import { distEntry } from './harness/apps.js';
import { environment } from './harness/fixtures.js';
import { McpTestClient } from './harness/mcp-client.js';
import { PolicyFiles } from './harness/policy-files.js';
import { PostgresDatabase } from './harness/postgres.js';
import { eventually, Proc } from './harness/processes.js';
import { System } from './harness/system.js';

type Outcome = 'passed' | 'failed' | 'error' | 'skipped';
interface Result {
  nodeid: string;
  outcome: Outcome;
  duration?: number;
  attempt?: number;
  when?: 'setup' | 'call' | 'teardown';
  error?: string;
  longrepr?: string;
}

const PROJECT = 'shop';
const FLAKY = 'tests/test_cart.py::test_flaky';
const STABLE = 'tests/test_cart.py::test_stable';
const RERUN = 'tests/test_cart.py::test_rerun';
const BROKEN = 'tests/test_pay.py::test_total[eur]';
const SLOW = 'tests/test_pay.py::test_slow';

const assertion = (a: number, b: number, run: number) => ({
  error: `AssertionError: assert ${a} == ${b}`,
  longrepr: `tests/test_pay.py:${10 + run}: in test_total\n    assert total(cart) == ${b}\nE   AssertionError: assert ${a} == ${b}\n\ntests/test_pay.py:${10 + run}: AssertionError`,
});

/**
 * Six finished sessions of one project on main, then a running one on another branch: a stable
 * test, one that flips every other run, one that passed only on a rerun, one that broke in the last
 * two runs with the same cause (other numbers), and one that gets slower.
 */
function history(): { id: string; results: Result[]; branch: string; finished: boolean }[] {
  const flaky: Outcome[] = ['passed', 'failed', 'passed', 'failed', 'passed', 'passed'];
  const runs = flaky.map((flakyOutcome, i) => {
    const results: Result[] = [
      { nodeid: STABLE, outcome: 'passed', duration: 0.01 },
      { nodeid: FLAKY, outcome: flakyOutcome, duration: 0.02, ...(flakyOutcome === 'failed' ? { error: 'TimeoutError: waited 5 s' } : {}) },
      { nodeid: SLOW, outcome: 'passed', duration: [1, 1, 1, 2, 3, 4][i]! },
    ];
    if (i === 2)
      results.push({ nodeid: RERUN, outcome: 'failed', attempt: 1, error: 'ConnectionError: refused' }, { nodeid: RERUN, outcome: 'passed', attempt: 2 });
    else results.push({ nodeid: RERUN, outcome: 'passed' });
    results.push(i >= 4 ? { nodeid: BROKEN, outcome: 'failed', ...assertion(3 + i, 4 + i, i) } : { nodeid: BROKEN, outcome: 'passed' });
    return { id: `shop-${i + 1}`, results, branch: 'main', finished: true };
  });
  return [...runs, { id: 'shop-dev', results: [{ nodeid: STABLE, outcome: 'failed', error: 'KeyError: 17' }], branch: 'dev', finished: false }];
}

type Recorded = ReturnType<typeof history>[number] & { project?: string };

async function record(client: McpTestClient, { id, results, branch, finished, project = PROJECT }: Recorded): Promise<void> {
  await client.ok('record_session_start', { session_id: id, environment, project, ci: { branch, url: `https://ci.example/${id}` }, labels: { suite: 'unit' } });
  await client.ok('record_test_outcomes', { session_id: id, outcomes: results.map((r) => ({ duration: 0.01, ...r })) });
  if (finished) {
    const failed = results.filter((r) => r.outcome === 'failed' && (r.attempt ?? 1) === 1 && r.nodeid !== RERUN).length;
    await client.ok('record_session_finish', {
      session_id: id,
      summary: { total_tests: 5, passed: 5 - failed, failed, skipped: 0, exitstatus: failed ? 1 : 0 },
    });
  }
  // Read back through the connection's own writes: the read models hold them once the view does.
  await client.ok('get_session', { session_id: id });
}

const STORES = ['sqlite', 'postgres'] as const;

describe.each(STORES)('reads across sessions, read models in %s', (store) => {
  const files = PolicyFiles.create({ version: '1', default: 'allow', grants: { dashboards: { default: 'allow', sessions: { read: 'all' } } } });
  let database: PostgresDatabase | undefined;
  let system: System;
  let ci: McpTestClient;
  let other: McpTestClient;
  let board: McpTestClient;

  beforeAll(async () => {
    database = store === 'postgres' ? await PostgresDatabase.create() : undefined;
    const [ciKey, otherKey, boardKey] = [
      await files.addKey('runner-1', 'ci'),
      await files.addKey('runner-2', 'other'),
      await files.addKey('board-1', 'dashboards'),
    ];
    system = await System.start({
      env: { KEYS_FILE: files.keys, POLICY_FILE: files.policy, ...(database ? { READ_MODEL_URL: database.url } : {}) },
    });
    const connect = (key: string) => McpTestClient.http(system.gateway.mcpUrl, { key });
    [ci, other, board] = await Promise.all([connect(ciKey), connect(otherKey), connect(boardKey)]);
    for (const session of history()) await record(ci, session);
  });
  afterAll(async () => {
    await Promise.all([ci, other, board].map((client) => client?.close()));
    await system?.stop();
    await database?.dispose();
    files.dispose();
  });

  const list = (client: McpTestClient, args: Record<string, unknown>) => client.ok<ListSessionsOutput>('list_sessions', args);
  const ids = (sessions: SessionListItem[]) => sessions.map((s) => s.session_id);

  it('lists sessions newest first, with filters', async () => {
    const { sessions, next_cursor } = await list(ci, { project: PROJECT });
    expect(ListSessionsOutput.safeParse({ sessions, next_cursor }).error).toBeUndefined();
    expect(ids(sessions)).toEqual(['shop-dev', 'shop-6', 'shop-5', 'shop-4', 'shop-3', 'shop-2', 'shop-1']);
    expect(next_cursor).toBeNull();
    expect(sessions[1]).toMatchObject({
      owner: 'ci',
      project: PROJECT,
      status: 'finished',
      counts: { passed: 4, failed: 1, total: 5 },
      ci: { branch: 'main', url: 'https://ci.example/shop-6' },
      labels: { suite: 'unit' },
      exitstatus: 1,
    });
    expect(ids((await list(ci, { status: 'running' })).sessions)).toEqual(['shop-dev']);
    expect(ids((await list(ci, { branch: 'dev' })).sessions)).toEqual(['shop-dev']);
    expect((await list(ci, { label: 'suite=unit' })).sessions).toHaveLength(7);
    expect((await list(ci, { label: 'suite=e2e' })).sessions).toHaveLength(0);
    const sixth = sessions[1]!.started_at;
    expect(ids((await list(ci, { since: sixth, project: PROJECT })).sessions)).toEqual(['shop-dev', 'shop-6']);
    expect((await list(ci, { until: sessions[6]!.started_at })).sessions).toHaveLength(0);
    expect((await ci.refusal('list_sessions', { limit: 101 })).message).toMatch(/limit: must be at most 100/);
    expect((await ci.refusal('list_sessions', { cursor: 'made-up' })).code).toBe('INVALID_ARGUMENTS');
  });

  it('pages with a cursor that neither skips nor repeats while sessions are added', async () => {
    const before = ids((await list(ci, { limit: 100 })).sessions);
    const seen: string[] = [];
    let cursor: string | null = null;
    let added = 0;
    do {
      const page: ListSessionsOutput = await list(ci, { limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...ids(page.sessions));
      cursor = page.next_cursor;
      // New sessions arrive between pages: they are newer than the cursor, so they come in a fresh listing only.
      await record(ci, { id: `paging-${added++}`, project: 'paging', results: [{ nodeid: STABLE, outcome: 'passed' }], branch: 'main', finished: false });
    } while (cursor);
    expect(seen).toEqual(before);
    expect(ids((await list(ci, { limit: added })).sessions)).toEqual(Array.from({ length: added }, (_, i) => `paging-${added - 1 - i}`));
  });

  it("answers a test's history newest first, with reruns and branches", async () => {
    const { nodeid, runs } = await ci.ok<GetTestHistoryOutput>('get_test_history', { project: PROJECT, nodeid: FLAKY });
    expect(nodeid).toBe(FLAKY);
    expect(runs.map((r) => [r.session_id, r.outcome])).toEqual([
      ['shop-6', 'passed'],
      ['shop-5', 'passed'],
      ['shop-4', 'failed'],
      ['shop-3', 'passed'],
      ['shop-2', 'failed'],
      ['shop-1', 'passed'],
    ]);
    expect(runs[2]).toMatchObject({ branch: 'main', attempt: 1, rerun_passed: false, error: 'TimeoutError: waited 5 s' });
    const rerun = await ci.ok<GetTestHistoryOutput>('get_test_history', { project: PROJECT, nodeid: RERUN, limit: 10 });
    expect(rerun.runs.find((r) => r.session_id === 'shop-3')).toMatchObject({ outcome: 'passed', attempt: 2, rerun_passed: true });
    const latest = await ci.ok<GetTestHistoryOutput>('get_test_history', { project: PROJECT, nodeid: STABLE, limit: 2 });
    expect(latest.runs.map((r) => [r.session_id, r.outcome, r.branch])).toEqual([
      ['shop-dev', 'failed', 'dev'],
      ['shop-6', 'passed', 'main'],
    ]);
  });

  it('finds the flaky tests of the last finished sessions, and the slowest with their trend', async () => {
    const flaky = GetFlakyTestsOutput.parse(await ci.ok('get_flaky_tests', { project: PROJECT }));
    expect(flaky.sessions).toBe(6);
    expect(flaky.tests.map((t) => t.nodeid)).toEqual([FLAKY, RERUN]);
    expect(flaky.tests[0]).toMatchObject({ runs: 6, flips: 4, rerun_passes: 0 });
    expect(flaky.tests[1]).toMatchObject({ runs: 6, flips: 1, rerun_passes: 1 });
    expect(flaky.tests[0]!.last_flip_at).not.toBeNull();
    const slow = flaky.slowest[0]!;
    expect(slow).toMatchObject({ nodeid: SLOW, runs: 6, last_duration: 4, durations: [1, 1, 1, 2, 3, 4] });
    expect(slow.trend).toBeCloseTo(3, 5);
    // A window of the last two sessions: the flaky test only passed there.
    expect((await ci.ok<GetFlakyTestsOutput>('get_flaky_tests', { project: PROJECT, window: 2 })).tests.map((t) => t.nodeid)).toEqual([]);
    expect((await ci.ok<GetFlakyTestsOutput>('get_flaky_tests', { project: PROJECT, branch: 'dev' })).sessions).toBe(0);
  });

  it('groups failures by cause, masking numbers, across sessions and within one', async () => {
    const project = GetFailureGroupsOutput.parse(await ci.ok('get_failure_groups', { project: PROJECT }));
    const broken = project.groups.find((g) => g.nodeids.includes(BROKEN))!;
    expect(broken).toMatchObject({ count: 2, nodeids: [BROKEN] });
    expect(broken.signature).toMatch(/^AssertionError: assert <N> == <N>/);
    expect(broken.signature).toMatch(/test_pay\.py/);
    expect(broken.signature).not.toMatch(/\d == \d/);
    expect(Date.parse(broken.first_seen)).toBeLessThan(Date.parse(broken.last_seen));
    expect(project.groups.find((g) => g.nodeids.includes(FLAKY))).toMatchObject({ count: 2 });
    const one = await ci.ok<GetFailureGroupsOutput>('get_failure_groups', { session_id: 'shop-6' });
    expect(one.groups).toEqual([expect.objectContaining({ count: 1, nodeids: [BROKEN], signature: broken.signature })]);
    expect((await ci.refusal('get_failure_groups', { session_id: 'shop-6', project: PROJECT })).message).toMatch(/either session_id or project/);
  });

  it('pages through every result of a session, and filters by outcome', async () => {
    const all = GetSessionTestsOutput.parse(await ci.ok('get_session_tests', { session_id: 'shop-3' }));
    expect(all.tests.map((t) => [t.nodeid, t.outcome, t.attempt])).toEqual([
      [STABLE, 'passed', 1],
      [FLAKY, 'passed', 1],
      [SLOW, 'passed', 1],
      [RERUN, 'failed', 1],
      [RERUN, 'passed', 2],
      [BROKEN, 'passed', 1],
    ]);
    const failed = await ci.ok<GetSessionTestsOutput>('get_session_tests', { session_id: 'shop-6', outcome: 'failed' });
    expect(failed.tests).toEqual([expect.objectContaining({ nodeid: BROKEN, when: 'call', error: 'AssertionError: assert 8 == 9' })]);
    expect((await ci.refusal('get_session_tests', { session_id: 'no-such' })).code).toBe('SESSION_NOT_FOUND');
  });

  it('pages through a session of 50,000 tests', async () => {
    const id = 'big';
    await ci.ok('record_session_start', { session_id: id, environment, project: 'big' });
    const nodeid = (i: number) => `tests/test_big.py::test_${String(i).padStart(5, '0')}`;
    for (let batch = 0; batch < 50; batch++) {
      const outcomes = Array.from({ length: 1000 }, (_, i) => ({
        nodeid: nodeid(batch * 1000 + i),
        outcome: i % 100 === 0 ? 'failed' : 'passed',
        duration: 0.001,
      }));
      await ci.ok('record_test_outcomes', { session_id: id, outcomes });
    }
    // 50,000 results just written: the projector may still be folding them (the read says so, and is retried).
    await eventually(() => ci.ok('get_session_tests', { session_id: id, limit: 1 }), 30_000, 'the read models to hold the big session');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: GetSessionTestsOutput = await ci.ok('get_session_tests', { session_id: id, limit: 1000, ...(cursor ? { cursor } : {}) });
      seen.push(...page.tests.map((t) => t.nodeid));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(50_000);
    expect(seen).toEqual(Array.from({ length: 50_000 }, (_, i) => nodeid(i)));
    const failed = await ci.ok<GetSessionTestsOutput>('get_session_tests', { session_id: id, outcome: 'failed', limit: 1000 });
    expect(failed.tests).toHaveLength(500);
    expect(failed.next_cursor).toBeNull();
  });

  it('shows another grant none of it, and a grant that reads all everything', async () => {
    expect((await list(other, {})).sessions).toEqual([]);
    expect((await other.ok<GetTestHistoryOutput>('get_test_history', { project: PROJECT, nodeid: FLAKY })).runs).toEqual([]);
    expect(await other.ok<GetFlakyTestsOutput>('get_flaky_tests', { project: PROJECT })).toMatchObject({ sessions: 0, tests: [], slowest: [] });
    expect((await other.ok<GetFailureGroupsOutput>('get_failure_groups', { project: PROJECT })).groups).toEqual([]);
    expect((await other.refusal('get_session_tests', { session_id: 'shop-6' })).code).toBe('SESSION_NOT_FOUND');
    expect((await other.refusal('get_failure_groups', { session_id: 'shop-6' })).code).toBe('SESSION_NOT_FOUND');
    for (const [tool, args] of [
      ['list_sessions', { owner: 'ci' }],
      ['get_session_tests', { session_id: 'shop-6', owner: 'ci' }],
      ['get_test_history', { project: PROJECT, nodeid: FLAKY, owner: 'ci' }],
      ['get_flaky_tests', { project: PROJECT, owner: 'ci' }],
      ['get_failure_groups', { project: PROJECT, owner: 'ci' }],
    ] as const) {
      expect((await other.refusal(tool, args)).code, tool).toBe('SESSION_ACCESS_DENIED');
    }
    const everyone = await list(board, { project: PROJECT, limit: 100 });
    expect(everyone.sessions.every((s) => s.owner === 'ci')).toBe(true);
    expect(everyone.sessions.length).toBeGreaterThan(6);
    expect((await board.ok<GetFlakyTestsOutput>('get_flaky_tests', { project: PROJECT })).tests.map((t) => t.nodeid)).toEqual([FLAKY, RERUN]);
    expect((await board.ok<GetSessionTestsOutput>('get_session_tests', { session_id: 'shop-6', owner: 'ci' })).tests).toHaveLength(5);
  });

  it('follows a session as an MCP resource, and hands an agent a triage prompt', async () => {
    await ci.ok('record_session_start', { session_id: 'followed', environment, project: PROJECT });
    const updates: string[] = [];
    const { ResourceUpdatedNotificationSchema } = await import('@modelcontextprotocol/sdk/types.js');
    ci.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    await ci.client.subscribeResource({ uri: 'session://followed' });
    await ci.ok('record_test_outcome', { session_id: 'followed', nodeid: BROKEN, outcome: 'failed', duration: 0.1, ...assertion(1, 2, 0) });
    await eventually(() => updates.includes('session://followed'), 10_000, 'a resources/updated notification');
    const read = await ci.client.readResource({ uri: 'session://followed' });
    expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({ session_id: 'followed', counts: { failed: 1 } });
    await expect(other.client.subscribeResource({ uri: 'session://followed' })).rejects.toThrow(/SESSION_NOT_FOUND/);
    await expect(other.client.readResource({ uri: 'session://followed' })).rejects.toThrow(/SESSION_NOT_FOUND/);

    const prompt = await ci.client.getPrompt({ name: 'triage_session', arguments: { session_id: 'shop-6' } });
    const text = (prompt.messages[0]!.content as { text: string }).text;
    expect(text).toContain('AssertionError: assert <N> == <N>');
    expect(text).toContain(BROKEN);
    expect(text).toMatch(/History, newest first .*: (F )+P P P P\n/);
    await expect(other.client.getPrompt({ name: 'triage_session', arguments: { session_id: 'shop-6' } })).rejects.toThrow(/SESSION_NOT_FOUND/);
  });

  it('gives the same answers after a rebuild of the read models', async () => {
    const answers = () =>
      Promise.all([
        list(ci, { limit: 100 }),
        ci.ok('get_test_history', { project: PROJECT, nodeid: FLAKY }),
        ci.ok('get_flaky_tests', { project: PROJECT }),
        ci.ok('get_failure_groups', { project: PROJECT }),
        ci.ok('get_session_tests', { session_id: 'shop-3' }),
      ]);
    const before = await answers();
    await system.projector.stop();
    const rebuild = Proc.spawn('rebuild', process.execPath, [distEntry('apps/projector/src/main.rebuild.js')], { ...system.env });
    expect(await rebuild.finished(), rebuild.logs).toBe(0);
    await system.projector.restart();
    expect(await answers()).toEqual(before);
  });
});
