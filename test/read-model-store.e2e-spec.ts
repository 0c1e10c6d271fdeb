import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView, TestResult } from '#contracts';
import { openReadModelStore, type ProjectedSession, type ReadModelStore } from '#read-models';
import { PostgresDatabase } from './harness/postgres.js';

const COUNTS = { passed: 0, failed: 0, skipped: 0, error: 0, xfailed: 0, xpassed: 0, total: 0 };

function view(sessionId: string, lastSeq: number, status: 'running' | 'finished' = 'running'): SessionView {
  return {
    session_id: sessionId,
    owner: 'ci',
    status,
    environment: { os: 'linux', python_version: '3.12' },
    project: 'shop',
    labels: { suite: 'unit' },
    ci: { branch: 'main' },
    started_at: '2026-01-01T00:00:00.000Z',
    finished_at: null,
    duration: null,
    tests_duration: 0,
    counts: COUNTS,
    reruns: 0,
    failures: [],
    failures_omitted: 0,
    slowest: [],
    summary: null,
    summary_matches: null,
    summary_mismatches: [],
    exitstatus: null,
    last_seq: lastSeq,
    version: lastSeq,
    updated_at: '2026-01-01T00:00:00.000Z',
    stuck: null,
  };
}

const result = (nodeid: string, outcome: TestResult['outcome'], attempt = 1, duration = 1, when: TestResult['when'] = 'call'): TestResult => ({
  nodeid,
  when,
  attempt,
  outcome,
  duration,
  ...(outcome === 'failed' ? { error: `AssertionError: assert ${attempt} == 0` } : {}),
});

/** A session's batch: started at `startSeq`, then one event per result list, in stream order. */
function batch(sessionId: string, startSeq: number, events: TestResult[][], status: 'running' | 'finished' = 'running'): ProjectedSession {
  const results = events.flatMap((event, i) => event.map((r, index) => ({ seq: startSeq + 1 + i, index, at: '2026-01-01T00:00:01.000Z', result: r })));
  return { ref: { owner: 'ci', sessionId }, view: view(sessionId, startSeq + events.length + (status === 'finished' ? 1 : 0), status), startSeq, results };
}

/** Everything the store answers about the crafted sessions. */
async function answers(store: ReadModelStore) {
  return {
    list: await store.listSessions({ owner: null, limit: 20 }),
    tests: await store.sessionTests({ owner: 'ci', session_id: 's1', limit: 100 }),
    history: await store.testHistory({ owner: 'ci', project: 'shop', nodeid: 't_rerun', limit: 30 }),
    flaky: await store.flakyTests({ owner: null, project: 'shop', window: 30 }),
    groups: await store.failureGroups({ owner: 'ci', project: 'shop', window: 30 }),
  };
}

describe.each(['sqlite', 'postgres'] as const)('the read-model store in %s', (kind) => {
  let store: ReadModelStore;
  let dir: string | undefined;
  let database: PostgresDatabase | undefined;

  beforeAll(async () => {
    if (kind === 'sqlite') dir = mkdtempSync(join(tmpdir(), 'read-models-'));
    else database = await PostgresDatabase.create();
    store = await openReadModelStore(kind === 'sqlite' ? `sqlite:${join(dir!, 'read-models.sqlite')}` : database!.url);
  });

  afterAll(async () => {
    await store?.close();
    await database?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('applies a batch once: applying it again, or an overlapping one, changes nothing', async () => {
    const first = batch('s1', 1, [[result('t_ok', 'passed'), result('t_rerun', 'failed', 1, 2)], [result('t_rerun', 'passed', 2, 3, 'call')]]);
    await store.apply([first]);
    const before = await answers(store);
    expect(before.tests?.tests.map((t) => [t.nodeid, t.outcome, t.attempt])).toEqual([
      ['t_ok', 'passed', 1],
      ['t_rerun', 'failed', 1],
      ['t_rerun', 'passed', 2],
    ]);
    expect(before.history.runs).toEqual([expect.objectContaining({ outcome: 'passed', attempt: 2, duration: 3, rerun_passed: true })]);
    await store.apply([first]);
    await store.apply([{ ...first, results: first.results.slice(1) }]);
    expect(await answers(store)).toEqual(before);
    expect(await store.appliedSeq()).toBe(3);
  });

  it('merges the phases of one test across batches as within one', async () => {
    const split = [
      batch('s2', 10, [[result('t_x', 'passed', 1, 1, 'setup')]]),
      batch('s2', 10, [[result('t_x', 'passed', 1, 1, 'setup')], [result('t_x', 'failed', 1, 2)]]),
    ];
    await store.apply([split[0]!]);
    await store.apply([split[1]!]);
    const [run] = (await store.testHistory({ owner: 'ci', project: 'shop', nodeid: 't_x', limit: 1 })).runs;
    expect(run).toMatchObject({ session_id: 's2', outcome: 'failed', duration: 3, attempt: 1, rerun_passed: false });
  });

  it('applies batches asked for at once, each whole (a projector folds sessions concurrently)', async () => {
    const sessions = Array.from({ length: 6 }, (_, i) => batch(`c${i}`, 100 + i * 10, [[result('t_a', 'passed')], [result('t_b', 'failed')]]));
    await Promise.all(sessions.map((session) => store.apply([session])));
    for (const { ref } of sessions) {
      const page = await store.sessionTests({ owner: 'ci', session_id: ref.sessionId, limit: 10 });
      expect(
        page?.tests.map((t) => t.nodeid),
        ref.sessionId,
      ).toEqual(['t_a', 't_b']);
    }
  });

  it('rolls a failed batch back whole', async () => {
    const good = batch('s3', 20, [[result('t_y', 'passed')]]);
    const bad = { ...batch('s4', 30, [[result('t_y', 'passed')]]), view: { ...view('s4', 31), counts: undefined as never, started_at: null as never } };
    await expect(store.apply([good, bad])).rejects.toThrow();
    expect(await store.sessionTests({ owner: 'ci', session_id: 's3', limit: 10 })).toBeNull();
  });

  it('refuses a cursor it never gave out', async () => {
    await expect(store.listSessions({ owner: null, limit: 1, cursor: 't1_2' })).rejects.toThrow(/cursor/);
    await expect(store.sessionTests({ owner: 'ci', session_id: 's1', limit: 1, cursor: 's5' })).rejects.toThrow(/cursor/);
  });

  it('starts afresh on reset', async () => {
    await store.reset();
    expect(await store.appliedSeq()).toBe(0);
    expect((await store.listSessions({ owner: null, limit: 20 })).sessions).toEqual([]);
  });
});
