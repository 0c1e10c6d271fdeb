import {
  isFailing,
  OUTCOME_SEVERITY,
  OUTCOMES,
  READ_BOUNDS,
  sessionKey,
  type GetFailureGroupsOutput,
  type GetFailureGroupsRequest,
  type GetFlakyTestsOutput,
  type GetFlakyTestsRequest,
  type GetSessionTestsOutput,
  type GetSessionTestsRequest,
  type GetTestHistoryOutput,
  type GetTestHistoryRequest,
  type ListSessionsOutput,
  type ListSessionsRequest,
  type Outcome,
  type SessionListItem,
  type SessionRef,
} from '#contracts';
import { failureSignature, groupFailures, mergeRun, passedOnRerun, windowReport, type SignedFailure, type TestRunState, type WindowRun } from '#domain';
import { BadCursor, type ProjectedSession, type ReadModelStore } from '../read-model.store.js';
import { migrate, TABLES } from './migrations.js';
import type { SqlDriver, SqlTransaction, SqlValue } from './sql-driver.js';

const OUTCOME_OF_SEVERITY = Object.fromEntries(OUTCOMES.map((outcome) => [OUTCOME_SEVERITY[outcome], outcome])) as Record<number, Outcome>;
const FAILING_SEVERITY = Math.min(...OUTCOMES.filter(isFailing).map((outcome) => OUTCOME_SEVERITY[outcome]));

/** Sessions whose stored sequence one statement looks up. */
const LOOKUP_CHUNK = 400;

const SESSION_COLUMNS = [
  'owner',
  'session_id',
  'start_seq',
  'last_seq',
  'project',
  'status',
  'stuck',
  'branch',
  'started_at',
  'finished_at',
  'duration',
  'exitstatus',
  'counts',
  'ci',
  'labels',
] as const;
const UPDATED_SESSION_COLUMNS = SESSION_COLUMNS.filter((column) => !['owner', 'session_id', 'start_seq', 'started_at'].includes(column));
const SESSION_UPSERT =
  `ON CONFLICT (owner, session_id) DO UPDATE SET ${UPDATED_SESSION_COLUMNS.map((column) => `${column} = excluded.${column}`).join(', ')} ` +
  'WHERE excluded.last_seq > sessions.last_seq';

const RESULT_COLUMNS = ['seq', 'idx', 'owner', 'session_id', 'nodeid', 'phase', 'attempt', 'outcome', 'duration', 'error', 'signature', 'at'] as const;

const RUN_COLUMNS = [
  'owner',
  'session_id',
  'nodeid',
  'project',
  'branch',
  'start_seq',
  'started_at',
  'attempt',
  'severity',
  'duration',
  'error',
  'earlier_failed',
] as const;
/**
 * A batch's run of a test (its phases merged by `mergeRun`) merged with the stored run, by the same
 * rule: a later attempt replaces it, the same attempt adds up and keeps the worse outcome, an
 * earlier one only tells that an earlier attempt failed. (SET expressions see the stored row.)
 */
const LATER = 'excluded.attempt > test_runs.attempt';
const SAME = 'excluded.attempt = test_runs.attempt';
const EARLIER = 'excluded.attempt < test_runs.attempt';
const RUN_UPSERT = `ON CONFLICT (owner, session_id, nodeid) DO UPDATE SET
  earlier_failed = CASE
    WHEN test_runs.earlier_failed = 1 OR excluded.earlier_failed = 1 THEN 1
    WHEN ${LATER} AND test_runs.severity >= ${FAILING_SEVERITY} THEN 1
    WHEN ${EARLIER} AND excluded.severity >= ${FAILING_SEVERITY} THEN 1
    ELSE 0 END,
  error = CASE WHEN ${LATER} OR (${SAME} AND excluded.severity > test_runs.severity) THEN excluded.error ELSE test_runs.error END,
  severity = CASE WHEN ${LATER} OR (${SAME} AND excluded.severity > test_runs.severity) THEN excluded.severity ELSE test_runs.severity END,
  duration = CASE WHEN ${LATER} THEN excluded.duration WHEN ${SAME} THEN test_runs.duration + excluded.duration ELSE test_runs.duration END,
  attempt = CASE WHEN ${LATER} THEN excluded.attempt ELSE test_runs.attempt END`;

interface SessionRow {
  owner: string;
  session_id: string;
  start_seq: number;
  last_seq: number;
  project: string | null;
  status: 'running' | 'finished';
  stuck: number;
  branch: string | null;
  started_at: string;
  finished_at: string | null;
  duration: number | null;
  exitstatus: number | null;
  counts: string;
  ci: string | null;
  labels: string;
}

interface RunRow {
  session_id: string;
  owner: string;
  nodeid: string;
  severity: number;
  duration: number;
  attempt: number;
  earlier_failed: number;
  started_at: string;
  branch: string | null;
  error: string | null;
}

/** A test's runs in a window, summed up: enough to tell whether it can be flaky or among the slowest. */
interface TestInWindow {
  nodeid: string;
  mean_duration: number;
  best: number;
  failed: number;
  rerun_passed: number;
}

/**
 * The tests whose runs the window report needs: any that passed and failed, or passed on a rerun
 * (none other can flip), and twice as many of the slowest as are listed (so that the exact means
 * computed from their runs decide the order, not the database's float sums).
 */
function reportCandidates(tests: readonly TestInWindow[]): Set<string> {
  const candidates = new Set<string>();
  for (const test of tests) if ((Number(test.best) === 0 && Number(test.failed) === 1) || Number(test.rerun_passed) === 1) candidates.add(test.nodeid);
  const means = tests.map((test) => test.mean_duration).sort((a, b) => b - a);
  // Every test tied with the last one taken comes too: ties are broken by node id, later.
  const cutoff = (means[2 * READ_BOUNDS.listed - 1] ?? -Infinity) * (1 - 1e-9) - 1e-12;
  for (const test of tests) if (test.mean_duration >= cutoff) candidates.add(test.nodeid);
  return candidates;
}

/**
 * The cross-session read models in SQL: a sessions index (with labels), every result, and each
 * test's run per session (for history, flakiness and durations). One writer applies pulled batches;
 * what a session's entry already holds (its `last_seq`) is never applied again.
 */
export class SqlReadModels implements ReadModelStore {
  constructor(private readonly driver: SqlDriver) {}

  get location(): string {
    return this.driver.location;
  }

  migrate(): Promise<void> {
    return migrate(this.driver);
  }

  async reset(): Promise<void> {
    await this.driver.exec(TABLES.map((table) => `DROP TABLE IF EXISTS ${table};`).join('\n'));
    await this.migrate();
  }

  async appliedSeq(): Promise<number> {
    const [row] = await this.driver.all<{ seq: number | null }>('SELECT MAX(last_seq) AS seq FROM sessions');
    return Number(row?.seq ?? 0);
  }

  async apply(batch: ProjectedSession[]): Promise<void> {
    if (batch.length === 0) return;
    await this.driver.transaction(async (tx) => {
      const stored = await storedSessions(
        tx,
        batch.map((session) => session.ref),
      );
      const sessions: SqlValue[][] = [];
      const labels: SqlValue[][] = [];
      const results: SqlValue[][] = [];
      const runs: SqlValue[][] = [];
      for (const session of batch) {
        const before = stored.get(sessionKey(session.ref));
        const applied = before?.last_seq ?? 0;
        if (session.view.last_seq <= applied) continue;
        const fresh = session.results.filter((result) => result.seq > applied);
        const startSeq = before?.start_seq ?? session.startSeq ?? fresh[0]?.seq ?? session.view.last_seq;
        sessions.push(sessionValues(session, startSeq));
        if (!before) for (const [name, value] of Object.entries(session.view.labels)) labels.push([session.ref.owner, session.ref.sessionId, name, value]);
        const testRuns = new Map<string, TestRunState>();
        for (const { seq, index, at, result } of fresh) {
          const error = result.error ?? result.longrepr ?? null;
          const signature = isFailing(result.outcome) ? failureSignature(result.error, result.longrepr) : null;
          results.push([
            seq,
            index,
            session.ref.owner,
            session.ref.sessionId,
            result.nodeid,
            result.when,
            result.attempt,
            result.outcome,
            result.duration,
            error,
            signature,
            at,
          ]);
          testRuns.set(
            result.nodeid,
            mergeRun(testRuns.get(result.nodeid), { attempt: result.attempt, outcome: result.outcome, duration: result.duration, error }),
          );
        }
        const { view } = session;
        for (const [nodeid, run] of testRuns) {
          runs.push([
            view.owner,
            view.session_id,
            nodeid,
            view.project,
            view.ci?.branch ?? null,
            startSeq,
            view.started_at,
            run.attempt,
            OUTCOME_SEVERITY[run.outcome],
            run.duration,
            run.error,
            run.earlierAttemptFailed ? 1 : 0,
          ]);
        }
      }
      await tx.insert('sessions', SESSION_COLUMNS, sessions, SESSION_UPSERT);
      await tx.insert('session_labels', ['owner', 'session_id', 'name', 'value'], labels, 'ON CONFLICT DO NOTHING');
      await tx.insert('results', RESULT_COLUMNS, results, 'ON CONFLICT DO NOTHING');
      await tx.insert('test_runs', RUN_COLUMNS, runs, RUN_UPSERT);
    });
  }

  async listSessions(request: ListSessionsRequest): Promise<ListSessionsOutput> {
    const where = new Conditions();
    if (request.owner !== null) where.add('owner = ?', request.owner);
    if (request.project !== undefined) where.add('project = ?', request.project);
    if (request.status !== undefined) where.add('status = ?', request.status);
    if (request.branch !== undefined) where.add('branch = ?', request.branch);
    if (request.label !== undefined) {
      const split = request.label.indexOf('=');
      where.add(
        'EXISTS (SELECT 1 FROM session_labels l WHERE l.owner = sessions.owner AND l.session_id = sessions.session_id AND l.name = ? AND l.value = ?)',
        request.label.slice(0, split),
        request.label.slice(split + 1),
      );
    }
    if (request.since !== undefined) where.add('started_at >= ?', new Date(request.since).toISOString());
    if (request.until !== undefined) where.add('started_at < ?', new Date(request.until).toISOString());
    if (request.cursor !== undefined) where.add('start_seq < ?', SESSIONS_CURSOR.decode(request.cursor)[0]!);
    const rows = await this.driver.all<SessionRow>(`SELECT ${SESSION_COLUMNS.join(', ')} FROM sessions ${where.sql()} ORDER BY start_seq DESC LIMIT ?`, [
      ...where.params,
      request.limit + 1,
    ]);
    const page = rows.slice(0, request.limit);
    return {
      sessions: page.map(listItem),
      next_cursor: rows.length > request.limit ? SESSIONS_CURSOR.encode(Number(page.at(-1)!.start_seq)) : null,
    };
  }

  async sessionTests(request: GetSessionTestsRequest): Promise<GetSessionTestsOutput | null> {
    if (!(await this.hasSession(request.owner, request.session_id))) return null;
    const where = new Conditions().add('owner = ?', request.owner).add('session_id = ?', request.session_id);
    if (request.outcome !== undefined) where.add('outcome = ?', request.outcome);
    if (request.cursor !== undefined) {
      const [seq, index] = TESTS_CURSOR.decode(request.cursor);
      where.add('(seq > ? OR (seq = ? AND idx > ?))', seq!, seq!, index!);
    }
    const rows = await this.driver.all<{
      seq: number;
      idx: number;
      nodeid: string;
      phase: string;
      outcome: Outcome;
      duration: number;
      attempt: number;
      error: string | null;
    }>(`SELECT seq, idx, nodeid, phase, outcome, duration, attempt, error FROM results ${where.sql()} ORDER BY seq, idx LIMIT ?`, [
      ...where.params,
      request.limit + 1,
    ]);
    const page = rows.slice(0, request.limit);
    const last = page.at(-1);
    return {
      session_id: request.session_id,
      owner: request.owner,
      tests: page.map((row) => ({
        nodeid: row.nodeid,
        when: row.phase as GetSessionTestsOutput['tests'][number]['when'],
        outcome: row.outcome,
        duration: row.duration,
        attempt: row.attempt,
        error: row.error,
      })),
      next_cursor: rows.length > request.limit && last ? TESTS_CURSOR.encode(Number(last.seq), last.idx) : null,
    };
  }

  async testHistory(request: GetTestHistoryRequest): Promise<GetTestHistoryOutput> {
    const where = new Conditions().add('project = ?', request.project).add('nodeid = ?', request.nodeid);
    if (request.owner !== null) where.add('owner = ?', request.owner);
    const rows = await this.driver.all<RunRow>(
      `SELECT session_id, owner, nodeid, severity, duration, attempt, earlier_failed, started_at, branch, error
       FROM test_runs ${where.sql()} ORDER BY start_seq DESC LIMIT ?`,
      [...where.params, request.limit],
    );
    return {
      nodeid: request.nodeid,
      runs: rows.map((row) => {
        const outcome = OUTCOME_OF_SEVERITY[row.severity]!;
        return {
          session_id: row.session_id,
          owner: row.owner,
          outcome,
          duration: row.duration,
          attempt: row.attempt,
          rerun_passed: passedOnRerun({ outcome, earlierAttemptFailed: row.earlier_failed === 1 }),
          started_at: row.started_at,
          branch: row.branch,
          error: row.error,
        };
      }),
    };
  }

  /**
   * Only the tests that can be in the answer have their runs read: those that both passed and
   * failed (or passed on a rerun) in the window, and the slowest by mean. An aggregate over the
   * window picks them, so a window of 30 sessions × 2,000 tests reads 2,000 rows, not 60,000.
   */
  async flakyTests(request: GetFlakyTestsRequest): Promise<GetFlakyTestsOutput> {
    const window = new Conditions().add('project = ?', request.project).add("status = 'finished'");
    if (request.branch !== undefined) window.add('branch = ?', request.branch);
    if (request.owner !== null) window.add('owner = ?', request.owner);
    const windowSql = `WITH w AS (SELECT owner, session_id FROM sessions ${window.sql()} ORDER BY start_seq DESC LIMIT ?)`;
    const params = [...window.params, request.window];
    const [counted] = await this.driver.all<{ sessions: number }>(`${windowSql} SELECT COUNT(*) AS sessions FROM w`, params);
    const tests = await this.driver.all<TestInWindow>(
      `${windowSql}
       SELECT r.nodeid, AVG(r.duration) AS mean_duration, MIN(r.severity) AS best,
              MAX(CASE WHEN r.severity >= ${FAILING_SEVERITY} THEN 1 ELSE 0 END) AS failed,
              MAX(CASE WHEN r.severity = 0 AND r.earlier_failed = 1 THEN 1 ELSE 0 END) AS rerun_passed
       FROM test_runs r JOIN w ON r.owner = w.owner AND r.session_id = w.session_id
       GROUP BY r.nodeid`,
      params,
    );
    const runsByTest = new Map<string, WindowRun[]>();
    for (const nodeid of reportCandidates(tests)) runsByTest.set(nodeid, []);
    const nodeids = [...runsByTest.keys()];
    for (let start = 0; start < nodeids.length; start += LOOKUP_CHUNK) {
      const chunk = nodeids.slice(start, start + LOOKUP_CHUNK);
      const rows = await this.driver.all<RunRow>(
        `${windowSql}
         SELECT r.nodeid, r.severity, r.duration, r.attempt, r.earlier_failed, r.started_at
         FROM test_runs r JOIN w ON r.owner = w.owner AND r.session_id = w.session_id
         WHERE r.nodeid IN (${chunk.map(() => '?').join(', ')})
         ORDER BY r.start_seq`,
        [...params, ...chunk],
      );
      for (const row of rows) {
        const outcome = OUTCOME_OF_SEVERITY[row.severity]!;
        const rerunPassed = passedOnRerun({ outcome, earlierAttemptFailed: row.earlier_failed === 1 });
        runsByTest.get(row.nodeid)!.push({ outcome, duration: row.duration, attempt: row.attempt, rerunPassed, startedAt: row.started_at });
      }
    }
    return { project: request.project, sessions: Number(counted?.sessions ?? 0), ...windowReport(runsByTest) };
  }

  async failureGroups(request: GetFailureGroupsRequest): Promise<GetFailureGroupsOutput | null> {
    const scope = new Conditions();
    if (request.owner !== null) scope.add('owner = ?', request.owner);
    let sessionsSql: string;
    if (request.session_id !== undefined) {
      scope.add('session_id = ?', request.session_id);
      sessionsSql = `SELECT owner, session_id FROM sessions ${scope.sql()}`;
      const [found] = await this.driver.all(sessionsSql, scope.params);
      if (!found) return null;
    } else {
      scope.add('project = ?', request.project ?? null);
      sessionsSql = `SELECT owner, session_id FROM sessions ${scope.sql()} ORDER BY start_seq DESC LIMIT ?`;
      scope.params.push(request.window);
    }
    const failures = await this.driver.all<SignedFailure>(
      `WITH w AS (${sessionsSql})
       SELECT r.signature, r.nodeid, r.at, r.error
       FROM results r JOIN w ON r.owner = w.owner AND r.session_id = w.session_id
       WHERE r.signature IS NOT NULL ORDER BY r.seq, r.idx`,
      scope.params,
    );
    return { groups: groupFailures(failures) };
  }

  close(): Promise<void> {
    return this.driver.close();
  }

  private async hasSession(owner: string, sessionId: string): Promise<boolean> {
    const rows = await this.driver.all('SELECT 1 AS found FROM sessions WHERE owner = ? AND session_id = ?', [owner, sessionId]);
    return rows.length > 0;
  }
}

/** A WHERE clause built from conditions, each with its parameters. */
class Conditions {
  private readonly parts: string[] = [];
  readonly params: SqlValue[] = [];

  add(condition: string, ...params: SqlValue[]): this {
    this.parts.push(condition);
    this.params.push(...params);
    return this;
  }

  sql(): string {
    return this.parts.length === 0 ? '' : `WHERE ${this.parts.join(' AND ')}`;
  }
}

/** A list's position as `<prefix><number>[_<number>]`: opaque to callers, and tied to one list by its prefix. */
class CursorCodec {
  private readonly pattern: RegExp;

  constructor(
    private readonly prefix: string,
    parts: number,
  ) {
    this.pattern = new RegExp(`^${prefix}(\\d{1,15})${'_(\\d{1,15})'.repeat(parts - 1)}$`);
  }

  encode(...parts: number[]): string {
    return this.prefix + parts.join('_');
  }

  decode(cursor: string): number[] {
    const match = this.pattern.exec(cursor);
    if (!match) throw new BadCursor();
    return match.slice(1).map(Number);
  }
}

const SESSIONS_CURSOR = new CursorCodec('s', 1);
const TESTS_CURSOR = new CursorCodec('t', 2);

/** The sessions' stored `last_seq` and `start_seq`, by session key. */
async function storedSessions(tx: SqlTransaction, refs: SessionRef[]): Promise<Map<string, { last_seq: number; start_seq: number }>> {
  const stored = new Map<string, { last_seq: number; start_seq: number }>();
  for (let start = 0; start < refs.length; start += LOOKUP_CHUNK) {
    const chunk = refs.slice(start, start + LOOKUP_CHUNK);
    const rows = await tx.all<{ owner: string; session_id: string; last_seq: number; start_seq: number }>(
      `SELECT owner, session_id, last_seq, start_seq FROM sessions WHERE (owner, session_id) IN (VALUES ${chunk.map(() => '(?, ?)').join(', ')})`,
      chunk.flatMap((ref) => [ref.owner, ref.sessionId]),
    );
    for (const row of rows)
      stored.set(sessionKey({ owner: row.owner, sessionId: row.session_id }), { last_seq: Number(row.last_seq), start_seq: Number(row.start_seq) });
  }
  return stored;
}

function sessionValues({ view }: ProjectedSession, startSeq: number): SqlValue[] {
  return [
    view.owner,
    view.session_id,
    startSeq,
    view.last_seq,
    view.project,
    view.status,
    view.stuck ? 1 : 0,
    view.ci?.branch ?? null,
    view.started_at,
    view.finished_at,
    view.duration,
    view.exitstatus,
    JSON.stringify(view.counts),
    view.ci ? JSON.stringify(view.ci) : null,
    JSON.stringify(view.labels),
  ];
}

function listItem(row: SessionRow): SessionListItem {
  return {
    session_id: row.session_id,
    owner: row.owner,
    project: row.project,
    status: row.status,
    stuck: Number(row.stuck) === 1,
    counts: JSON.parse(row.counts) as SessionListItem['counts'],
    started_at: row.started_at,
    finished_at: row.finished_at,
    duration: row.duration,
    ci: row.ci === null ? null : (JSON.parse(row.ci) as SessionListItem['ci']),
    labels: JSON.parse(row.labels) as SessionListItem['labels'],
    exitstatus: row.exitstatus,
    last_seq: Number(row.last_seq),
  };
}
