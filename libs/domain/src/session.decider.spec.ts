import { describe, expect, it } from 'vitest';
import { LIMITS, type PytestEvent, type Summary, type TestResult } from '#contracts';
import { decide, evolve, initialState, type Decision, type OutcomeInput, type SessionCommand, type SessionState } from './session.decider.js';

const SESSION = 's-1';
const OWNER = 'ci';
const actor = { agent: 'local', grant: OWNER, via: 'test' };
const at = '2026-11-24T10:00:00.000Z';
const environment = { os: 'Macos', python_version: '3.13.1' };
const summary: Summary = { total_tests: 2, passed: 1, failed: 1, skipped: 0, exitstatus: 1 };

const start = (data: object = { environment }): SessionCommand =>
  ({ type: 'StartSession', owner: OWNER, sessionId: SESSION, actor, at, data }) as SessionCommand;
const outcome = (input: Partial<OutcomeInput> = {}, by = actor): SessionCommand => ({
  type: 'RecordOutcome',
  owner: OWNER,
  sessionId: SESSION,
  actor: by,
  at,
  outcome: { nodeid: 'tests/test_a.py::test_ok', outcome: 'passed', duration: 0.5, ...input },
});
const outcomes = (...items: Partial<OutcomeInput>[]): SessionCommand => ({
  type: 'RecordOutcomes',
  owner: OWNER,
  sessionId: SESSION,
  actor,
  at,
  outcomes: items.map((item) => ({ nodeid: 'tests/test_a.py::test_ok', outcome: 'passed', duration: 0.5, ...item })),
});
const finish = (s: Summary = summary): SessionCommand => ({ type: 'FinishSession', owner: OWNER, sessionId: SESSION, actor, at, summary: s });

let ids = 0;
const deps = { newEventId: () => `event-${++ids}` };

/** given(commands that were accepted earlier, each stored at the next stream sequence).when(commands) */
function given(...history: SessionCommand[]) {
  let state: SessionState = initialState({ owner: OWNER, sessionId: SESSION });
  let seq = 0;
  for (const command of history) {
    const { events, verdicts } = decide(state, [command], deps);
    expect(verdicts[0]?.kind, `given ${command.type}`).toBe('append');
    for (const event of events) state = evolve(state, event, (seq += 10));
  }
  return { state, when: (...commands: SessionCommand[]): Decision => decide(state, commands, deps) };
}

const resultsOf = (event: PytestEvent | undefined): TestResult[] => (event?.type === 'TestOutcomesRecorded' ? event.data.results : []);
const codes = (decision: Decision) => decision.verdicts.map((v) => (v.kind === 'rejected' ? v.error.code : v.kind));

describe('starting a session', () => {
  it('decides only commands of its own owner and session', () => {
    const state = initialState({ owner: 'other', sessionId: SESSION });
    expect(() => decide(state, [start()], deps)).toThrow(/ci\.s-1 decided against other\.s-1/);
  });

  it('records SessionStarted as the first event of the session', () => {
    const { events, verdicts } = given().when(start());
    expect(verdicts).toEqual([{ kind: 'append', event: 0, duplicate: false }]);
    expect(events).toEqual([{ type: 'SessionStarted', v: 1, id: expect.any(String), sessionId: SESSION, version: 1, at, actor, data: { environment } }]);
  });

  it('answers a repeated identical start with the stored sequence and writes nothing', () => {
    const decision = given(start()).when(start({ environment: { python_version: '3.13.1', os: 'Macos' } }));
    expect(decision.events).toEqual([]);
    expect(decision.verdicts).toEqual([{ kind: 'duplicate', seq: 10 }]);
  });

  it('refuses a start that reuses the session id with other content', () => {
    const decision = given(start()).when(start({ environment: { os: 'Linux', python_version: '3.12' } }));
    expect(decision.events).toEqual([]);
    expect(codes(decision)).toEqual(['SESSION_ID_CONFLICT']);
  });
});

describe('recording outcomes', () => {
  it('refuses an outcome for a session that was never started', () => {
    const decision = given().when(outcome());
    expect(decision.events).toEqual([]);
    expect(codes(decision)).toEqual(['SESSION_NOT_FOUND']);
  });

  it('stores the outcome with its phase and attempt filled in', () => {
    const { events } = given(start()).when(outcome({ outcome: 'failed', error: 'assert 1 == 2' }));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'TestOutcomesRecorded', version: 2 });
    expect(resultsOf(events[0])).toEqual([
      { nodeid: 'tests/test_a.py::test_ok', when: 'call', attempt: 1, outcome: 'failed', duration: 0.5, error: 'assert 1 == 2' },
    ]);
  });

  it('accepts an outcome decided in the same batch as its start', () => {
    const decision = given().when(start(), outcome());
    expect(decision.events.map((e) => e.type)).toEqual(['SessionStarted', 'TestOutcomesRecorded']);
    expect(decision.events.map((e) => e.version)).toEqual([1, 2]);
  });

  it('answers a retried outcome with the sequence that holds it', () => {
    const decision = given(start(), outcome()).when(outcome());
    expect(decision.events).toEqual([]);
    expect(decision.verdicts).toEqual([{ kind: 'duplicate', seq: 20 }]);
  });

  it('treats a retry within one batch as the same write', () => {
    const decision = given(start()).when(outcome(), outcome());
    expect(resultsOf(decision.events[0])).toHaveLength(1);
    expect(decision.verdicts).toEqual([
      { kind: 'append', event: 0, duplicate: false },
      { kind: 'append', event: 0, duplicate: true },
    ]);
  });

  it('refuses another result for the same test phase and attempt, suggesting the next attempt', () => {
    const decision = given(start(), outcome()).when(outcome({ outcome: 'failed' }));
    expect(decision.events).toEqual([]);
    expect(codes(decision)).toEqual(['OUTCOME_CONFLICT']);
    expect(decision.verdicts[0]).toMatchObject({ error: { message: expect.stringContaining('attempt: 2') } });
  });

  it('takes a call for a retry only when its content is exactly the same', () => {
    const failed = { outcome: 'failed' as const };
    expect(codes(given(start(), outcome(failed)).when(outcome({ ...failed, error: '\u0001' })))).toEqual(['OUTCOME_CONFLICT']);
    const earlier = outcome({ ...failed, error: 'A', longrepr: 'B\u0000\u0001' });
    expect(codes(given(start(), earlier).when(outcome({ ...failed, error: 'A\u0000B', longrepr: '\u0001' })))).toEqual(['OUTCOME_CONFLICT']);
    expect(codes(given(start(), earlier).when(earlier))).toEqual(['duplicate']);
    expect(codes(given(start(), outcome({ error: null })).when(outcome()))).toEqual(['duplicate']);
  });

  it('compares retries on the whole text, also where the stored copy is clipped', () => {
    const long = 'x'.repeat(LIMITS.errorBytes * 2);
    const first = outcome({ outcome: 'failed', error: `${long}A${long}` });
    expect(codes(given(start(), first).when(first))).toEqual(['duplicate']);
    expect(codes(given(start(), first).when(outcome({ outcome: 'failed', error: `${long}B${long}` })))).toEqual(['OUTCOME_CONFLICT']);
    expect(resultsOf(given(start()).when(outcome()).events[0])[0]).not.toHaveProperty('sent_digest');
  });

  it('keeps setup, call and teardown of one test apart', () => {
    const decision = given(start()).when(outcome({ when: 'setup' }), outcome(), outcome({ when: 'teardown' }));
    expect(resultsOf(decision.events[0]).map((r) => r.when)).toEqual(['setup', 'call', 'teardown']);
  });

  it('marks a rerun with the outcome it replaces', () => {
    const decision = given(start(), outcome({ outcome: 'failed' })).when(outcome({ attempt: 2 }));
    expect(resultsOf(decision.events[0])).toEqual([expect.objectContaining({ attempt: 2, replaces: 'failed' })]);
  });

  it('keeps but does not count an earlier attempt that arrives after a later one', () => {
    const decision = given(start(), outcome({ attempt: 2 })).when(outcome({ attempt: 1, outcome: 'failed' }));
    expect(resultsOf(decision.events[0])).toEqual([expect.objectContaining({ attempt: 1, superseded: true })]);
  });

  it('refuses an outcome after the finish, but still recognises a retry of an earlier one', () => {
    const decision = given(start(), outcome(), finish()).when(outcome({ nodeid: 'tests/test_b.py::test_late' }), outcome(), outcome({ outcome: 'failed' }));
    expect(decision.events).toEqual([]);
    expect(codes(decision)).toEqual(['SESSION_FINISHED', 'duplicate', 'SESSION_FINISHED']);
  });

  it('keeps a 20 kB traceback whole and clips a larger one to the documented bound', () => {
    const traceback = 'E   assert x == y\n'.repeat(1200);
    const huge = 'ü'.repeat(LIMITS.errorBytes);
    const decision = given(start()).when(
      outcome({ nodeid: 'tests/test_ü.py::test_p[日本-1]', outcome: 'failed', error: traceback }),
      outcome({ nodeid: 'tests/test_b.py::test_huge', outcome: 'failed', error: huge }),
    );
    const [kept, clipped] = resultsOf(decision.events[0]);
    expect(kept).toMatchObject({ nodeid: 'tests/test_ü.py::test_p[日本-1]', error: traceback });
    expect(new TextEncoder().encode(clipped!.error).length).toBeLessThanOrEqual(LIMITS.errorBytes);
    expect(clipped!.error).toContain('bytes cut');
  });
});

describe('group commit', () => {
  it('folds consecutive outcomes of one actor into one event', () => {
    const decision = given(start()).when(...Array.from({ length: 5 }, (_, i) => outcome({ nodeid: `t::${i}` })));
    expect(decision.events).toHaveLength(1);
    expect(resultsOf(decision.events[0])).toHaveLength(5);
    expect(decision.verdicts.every((v) => v.kind === 'append' && v.event === 0)).toBe(true);
  });

  it('starts a new event for another actor, a finish, or a full batch', () => {
    const other = { agent: 'ci-runner', grant: OWNER, via: 'test' };
    const many = Array.from({ length: LIMITS.batchResults + 1 }, (_, i) => outcome({ nodeid: `t::${i}` }));
    const decision = given(start()).when(outcome({ nodeid: 'a' }), outcome({ nodeid: 'b' }, other), ...many, finish(), outcome());
    expect(decision.events.map((e) => `${e.type}:${resultsOf(e).length}`)).toEqual([
      'TestOutcomesRecorded:1',
      'TestOutcomesRecorded:1',
      `TestOutcomesRecorded:${LIMITS.batchResults}`,
      'TestOutcomesRecorded:1',
      'SessionFinished:0',
    ]);
    expect(decision.events.map((e) => e.version)).toEqual([2, 3, 4, 5, 6]);
    expect(codes(decision).at(-1)).toBe('SESSION_FINISHED');
  });

  it('keeps every event within the byte budget, counting JSON escapes', () => {
    // Control characters (ANSI colours in pytest output) take 6 bytes each once escaped in JSON.
    const coloured = '\u001b[31mE\u001b[0m\u0001'.repeat(LIMITS.errorBytes / 12);
    const decision = given(start()).when(
      ...Array.from({ length: 40 }, (_, i) => outcome({ nodeid: `t::${i}`, outcome: 'failed', error: coloured, longrepr: coloured })),
    );
    expect(decision.events.length).toBeGreaterThan(1);
    for (const event of decision.events) {
      expect(new TextEncoder().encode(JSON.stringify(event)).length).toBeLessThanOrEqual(LIMITS.batchBytes + 1024);
    }
  });
});

describe('recording a batch of outcomes', () => {
  const ok = (i: number): Partial<OutcomeInput> => ({ nodeid: `t::${i}` });

  it('stores every item in one event, as single outcomes would be', () => {
    const batch = given(start()).when(outcomes(ok(1), ok(2), ok(3)));
    const singles = given(start()).when(outcome(ok(1)), outcome(ok(2)), outcome(ok(3)));
    expect(batch.events.map((e) => e.data)).toEqual(singles.events.map((e) => e.data));
    expect(batch.verdicts).toEqual([{ kind: 'append', event: 0, duplicate: false, duplicates: 0, itemEvents: [0, 0, 0] }]);
  });

  it('refuses the whole batch for one bad item, naming its index, and writes nothing of it', () => {
    const decision = given(start(), outcome({ nodeid: 't::2', outcome: 'failed' })).when(outcome(ok(0)), outcomes(ok(1), ok(2), ok(3)), outcome(ok(4)));
    expect(codes(decision)).toEqual(['append', 'OUTCOME_CONFLICT', 'append']);
    expect(resultsOf(decision.events[0]).map((r) => r.nodeid)).toEqual(['t::0', 't::4']);
    const refusal = decision.verdicts[1];
    expect(refusal?.kind === 'rejected' && refusal.error.message).toMatch(/^outcomes\.1: t::2 \(call, attempt 1\) .*attempt: 2/);
  });

  it('takes back what the refused batch had remembered: its items can be sent again', () => {
    const decision = given(start()).when(outcomes(ok(1), ok(1), { nodeid: 't::1', outcome: 'failed' }), outcomes(ok(1)));
    expect(codes(decision)).toEqual(['OUTCOME_CONFLICT', 'append']);
    expect(decision.verdicts[1]).toEqual({ kind: 'append', event: 0, duplicate: false, duplicates: 0, itemEvents: [0] });
    expect(resultsOf(decision.events[0])).toHaveLength(1);
  });

  it('counts items already recorded, by earlier calls or earlier in the batch, and stores the rest once', () => {
    const decision = given(start(), outcome(ok(1))).when(outcomes(ok(1), ok(2), ok(2), ok(3)));
    expect(decision.verdicts).toEqual([{ kind: 'append', event: 0, duplicate: false, duplicates: 2, itemEvents: [0, 0] }]);
    expect(resultsOf(decision.events[0]).map((r) => r.nodeid)).toEqual(['t::2', 't::3']);
  });

  it('answers a resent batch with the stored sequence and writes nothing, also after the finish', () => {
    const decision = given(start(), outcomes(ok(1), ok(2)), finish()).when(outcomes(ok(2), ok(1)));
    expect(decision.events).toEqual([]);
    expect(decision.verdicts).toEqual([{ kind: 'duplicate', seq: 20, duplicates: 2 }]);
  });

  it('refuses new items after the finish and unknown sessions as a whole', () => {
    expect(codes(given(start(), finish()).when(outcomes(ok(1))))).toEqual(['SESSION_FINISHED']);
    expect(codes(given().when(outcomes(ok(1))))).toEqual(['SESSION_NOT_FOUND']);
  });

  it('spreads a batch over as few events as the byte budget allows', () => {
    const big = 'x'.repeat(LIMITS.errorBytes);
    const items = Array.from({ length: 40 }, (_, i) => ({ nodeid: `t::${i}`, outcome: 'failed' as const, error: big, longrepr: big }));
    const decision = given(start()).when(outcomes(...items));
    const perEvent = Math.floor(LIMITS.batchBytes / (2 * LIMITS.errorBytes + 200));
    expect(decision.events).toHaveLength(Math.ceil(items.length / perEvent));
    expect(decision.verdicts).toEqual([
      { kind: 'append', event: decision.events.length - 1, duplicate: false, duplicates: 0, itemEvents: items.map((_, i) => Math.floor(i / perEvent)) },
    ]);
  });

  it('fits a full batch of small items in one event', () => {
    const decision = given(start()).when(outcomes(...Array.from({ length: LIMITS.batchOutcomes }, (_, i) => ok(i))));
    expect(decision.events).toHaveLength(1);
  });
});

describe('finishing a session', () => {
  it('refuses to finish a session that was never started', () => {
    expect(codes(given().when(finish()))).toEqual(['SESSION_NOT_FOUND']);
  });

  it('records SessionFinished with the reported summary', () => {
    const { events } = given(start()).when(finish());
    expect(events).toEqual([expect.objectContaining({ type: 'SessionFinished', version: 2, data: { summary } })]);
  });

  it('answers a repeated identical finish and refuses a different second finish', () => {
    const finished = given(start(), finish());
    expect(finished.when(finish()).verdicts).toEqual([{ kind: 'duplicate', seq: 20 }]);
    const second = finished.when(finish({ ...summary, exitstatus: 0 }));
    expect(second.events).toEqual([]);
    expect(codes(second)).toEqual(['SESSION_ALREADY_FINISHED']);
  });
});

describe('evolve', () => {
  it('tracks status, version and the last stream sequence', () => {
    const { state } = given(start(), outcome(), finish());
    expect(state).toMatchObject({ status: 'finished', version: 3, lastSeq: 30 });
  });

  it('refuses an event that does not follow the state', () => {
    const { state } = given(start());
    const [event] = given(start(), outcome()).when(outcome({ nodeid: 'x' })).events;
    expect(() => evolve(state, event!, 99)).toThrow(/version 3 follows 1/);
  });
});
