import { describe, expect, it } from 'vitest';
import { LIMITS, type PytestEvent, type SessionView, type TestResult } from '#contracts';
import { countedAs, projectSession, stuckSession } from './session.projection.js';

const actor = { agent: 'local', via: 'test' };
const base = { v: 1 as const, sessionId: 's-1', actor };
let version = 0;
const started = (): PytestEvent => {
  version = 1;
  return {
    ...base,
    type: 'SessionStarted',
    id: 'e1',
    version: 1,
    at: '2026-11-24T10:00:00.000Z',
    data: { environment: { os: 'Linux', python_version: '3.12.1' }, project: 'shop' },
  };
};
const recorded = (...results: Partial<TestResult>[]): PytestEvent => ({
  ...base,
  type: 'TestOutcomesRecorded',
  id: `e${++version}`,
  version,
  at: '2026-11-24T10:00:05.000Z',
  data: { results: results.map((r) => ({ nodeid: 't::ok', when: 'call', attempt: 1, outcome: 'passed', duration: 1, ...r })) },
});
const finished = (summary = { total_tests: 3, passed: 1, failed: 1, skipped: 1, exitstatus: 1 }): PytestEvent => ({
  ...base,
  type: 'SessionFinished',
  id: `e${++version}`,
  version,
  at: '2026-11-24T10:01:00.000Z',
  data: { summary },
});

/** Folds the events in order, at sequences 1, 2, …; every event is applied twice to prove idempotency. */
function fold(events: PytestEvent[]): SessionView {
  let view: SessionView | null = null;
  events.forEach((event, i) => {
    const first = projectSession(view, event, i + 1, 'ci');
    if (first.kind !== 'applied') throw new Error(`event ${event.version}: ${first.kind}`);
    view = first.view;
    expect(projectSession(view, event, i + 1, 'ci')).toEqual({ kind: 'skipped' });
  });
  return view!;
}

describe('session view', () => {
  it('starts running with the environment and empty counts', () => {
    const view = fold([started()]);
    expect(view).toMatchObject({
      session_id: 's-1',
      owner: 'ci',
      stuck: null,
      status: 'running',
      environment: { os: 'Linux', python_version: '3.12.1' },
      project: 'shop',
      counts: { passed: 0, failed: 0, skipped: 0, error: 0, xfailed: 0, xpassed: 0, total: 0 },
      last_seq: 1,
      version: 1,
    });
  });

  it('counts outcomes, lists failures and the slowest results', () => {
    const view = fold([
      started(),
      recorded(
        { nodeid: 't::a', outcome: 'passed', duration: 0.1 },
        { nodeid: 't::b', outcome: 'failed', duration: 2, error: 'assert 0' },
        { nodeid: 't::c', outcome: 'skipped', duration: 0 },
        { nodeid: 't::d', outcome: 'xfailed', duration: 0.3 },
      ),
    ]);
    expect(view.counts).toEqual({ passed: 1, failed: 1, skipped: 1, error: 0, xfailed: 1, xpassed: 0, total: 4 });
    expect(view.failures).toEqual([{ nodeid: 't::b', when: 'call', outcome: 'failed', error: 'assert 0', duration: 2, attempt: 1 }]);
    expect(view.slowest.map((s) => s.nodeid)).toEqual(['t::b', 't::d', 't::a', 't::c']);
    expect(view.tests_duration).toBe(2.4);
  });

  it('counts phases the way pytest does', () => {
    expect(countedAs('setup', 'passed')).toBeNull();
    expect(countedAs('teardown', 'failed')).toBe('error');
    expect(countedAs('setup', 'skipped')).toBe('skipped');
    const view = fold([started(), recorded({ when: 'setup' }, { when: 'call' }, { when: 'teardown', outcome: 'failed', error: 'boom' })]);
    expect(view.counts).toMatchObject({ passed: 1, error: 1, total: 2 });
    expect(view.failures).toEqual([expect.objectContaining({ when: 'teardown', outcome: 'error', error: 'boom' })]);
  });

  it('lets a rerun replace the earlier attempt in counts and failures', () => {
    const view = fold([
      started(),
      recorded({ nodeid: 't::flaky', outcome: 'failed', error: 'flake' }),
      recorded({ nodeid: 't::flaky', attempt: 2, outcome: 'passed', replaces: 'failed' }),
    ]);
    expect(view.counts).toMatchObject({ passed: 1, failed: 0, total: 1 });
    expect(view.failures).toEqual([]);
    expect(view.reruns).toBe(1);
  });

  it('keeps a superseded attempt out of the counts', () => {
    const view = fold([started(), recorded({ attempt: 2 }), recorded({ attempt: 1, outcome: 'failed', superseded: true })]);
    expect(view.counts).toMatchObject({ passed: 1, failed: 0, total: 1 });
  });

  it('bounds the failures it lists and clips their errors', () => {
    const failures = Array.from({ length: LIMITS.viewFailures + 5 }, (_, i) => ({
      nodeid: `t::f${i}`,
      outcome: 'failed' as const,
      error: 'E'.repeat(LIMITS.viewErrorBytes * 2),
    }));
    const view = fold([started(), recorded(...failures)]);
    expect(view.failures).toHaveLength(LIMITS.viewFailures);
    expect(view.failures_omitted).toBe(5);
    expect(view.counts.failed).toBe(LIMITS.viewFailures + 5);
    expect(view.failures[0]!.error!.length).toBeLessThanOrEqual(LIMITS.viewErrorBytes);
  });

  it('finishes with the reported summary beside the counts', () => {
    const view = fold([started(), recorded({ nodeid: 't::a' }, { nodeid: 't::b', outcome: 'failed' }, { nodeid: 't::c', outcome: 'skipped' }), finished()]);
    expect(view).toMatchObject({
      status: 'finished',
      finished_at: '2026-11-24T10:01:00.000Z',
      duration: 60,
      exitstatus: 1,
      summary_matches: true,
      summary_mismatches: [],
    });
  });

  it('says where the reported summary disagrees with what was recorded', () => {
    const view = fold([started(), recorded({ nodeid: 't::a' }), finished({ total_tests: 3, passed: 3, failed: 0, skipped: 0, exitstatus: 0 })]);
    expect(view.summary_matches).toBe(false);
    expect(view.summary_mismatches).toEqual([
      { field: 'total_tests', reported: 3, recorded: 1 },
      { field: 'passed', reported: 3, recorded: 1 },
    ]);
  });

  it('reports a gap instead of folding an event out of order', () => {
    const first = started();
    recorded();
    const third = recorded();
    const view = fold([first]);
    expect(projectSession(view, third, 3, 'ci')).toEqual({ kind: 'gap', expectedVersion: 2 });
    expect(projectSession(null, third, 3, 'ci')).toEqual({ kind: 'gap', expectedVersion: 1 });
  });

  it('folds nothing into a stuck session, whose view says where and why it stopped', () => {
    const mark = { seq: 2, reason: 'not a valid event', at: '2026-11-24T10:00:06.000Z' };
    const view = stuckSession(fold([started()]), { owner: 'ci', sessionId: 's-1' }, mark);
    expect(view).toMatchObject({ status: 'running', version: 1, stuck: mark });
    expect(projectSession(view, recorded(), 3, 'ci')).toEqual({ kind: 'stuck' });
    const stub = stuckSession(null, { owner: 'ci', sessionId: 's-2' }, { ...mark, seq: 1 });
    expect(stub).toEqual({ session_id: 's-2', owner: 'ci', stuck: { ...mark, seq: 1 } });
    expect(projectSession(stub, started(), 1, 'ci')).toEqual({ kind: 'stuck' });
  });
});

describe('session view size', () => {
  it('stays within a NATS message (1 MiB) for the largest inputs the contracts accept', () => {
    const longId = (i: number) => `tests/${(i % 2 ? '日' : '\u0003').repeat(4000)}::t${i}`;
    const coloured = '\u001b[31mE\u001b[0m\u0001'.repeat(3000);
    const start = started();
    if (start.type === 'SessionStarted') {
      start.data.environment = { os: 'Linux', python_version: '3', extra: '\u0001'.repeat(LIMITS.environmentBytes - 100) };
      start.data.labels = Object.fromEntries(Array.from({ length: LIMITS.labels }, (_, i) => [`${'l'.repeat(120)}${i}`, '\u0002'.repeat(512)]));
    }
    const results = Array.from({ length: 300 }, (_, i) => ({
      nodeid: longId(i),
      outcome: 'failed' as const,
      duration: i,
      error: coloured,
      longrepr: coloured,
    }));
    const view = fold([start, recorded(...results.slice(0, 150)), recorded(...results.slice(150))]);
    expect(view.counts.failed).toBe(300);
    expect(view.failures.length + view.failures_omitted).toBe(300);
    expect(new TextEncoder().encode(JSON.stringify(view)).length).toBeLessThan(1024 * 1024);
  });
});
