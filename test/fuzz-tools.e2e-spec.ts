import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REFUSAL_CODES, REFUSAL_META_KEY, Refusal, SessionView, type TestResult } from '#contracts';
import { normalizeResult, type OutcomeInput } from '#domain';
import { useSystem } from './harness/use-system.js';

/**
 * Property-based fuzz of every tool's input over real MCP against the real apps and NATS: each call
 * is either accepted and reads back equal, or refused with a listed code and nothing written; the
 * sessions stay writable and no process restarts.
 */
const suite = useSystem();

const RUNS = { record_session_start: 800, record_test_outcome: 1000, record_session_finish: 300, get_session: 300 };
/** Sessions the outcome and read cases aim at, so that most of them hit a running session. */
const POOL = ['fz-0', 'fz-1', 'fz-2'];
const environment = { os: 'Linux', python_version: '3.13.1' };

/** The value as it travels as JSON (what a server can read back: -0 is 0, undefined members are gone). */
const asJson = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

// Text of every kind: control characters, lone surrogates, separators, emoji, and the keys JavaScript treats specially.
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', '\u0000', '\u0001', 'A\u0000B', '__proto__', 'constructor', 'toString', '\u2028', '🧪'),
);
const json = fc.jsonValue({ maxDepth: 20 });
const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, 1e308, -1, 0.1, Number.MAX_SAFE_INTEGER + 2));
/** A value of any JSON type, or one of the right kind, so that both bad and good input is common. */
const anyOr = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: json });
const sessionId = fc.oneof(fc.constantFrom(...POOL), fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/), text);
const freeObject = fc.dictionary(text, json, { maxKeys: 6 });
/** Each tool's arguments: mostly valid in shape (with any text and nested values where they are free-form), else hostile in every field. */
const validOrHostile = <T, U>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<U>) =>
  fc.oneof({ weight: 2, arbitrary: valid }, { weight: 1, arbitrary: hostile }) as fc.Arbitrary<Record<string, any>>;

const someText = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 });
const key = someText.filter((k) => k !== '__proto__');
const validFree = fc.dictionary(key, fc.jsonValue({ maxDepth: 12 }).map(asJson), { maxKeys: 6 });
const count = fc.integer({ min: 0, max: 1000 });

const startArgs = validOrHostile(
  fc.record(
    {
      environment: fc.tuple(someText, someText, validFree).map(([os, python_version, extra]) => ({ ...extra, os, python_version })),
      session_id: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
      project: text.filter((t) => t.length <= 128),
      labels: fc.dictionary(key, text, { maxKeys: 4 }),
      ci: fc.record({ provider: text, run_id: text, branch: text, url: text }, { requiredKeys: [] }),
    },
    { requiredKeys: ['environment'] },
  ),
  fc.record(
    {
      environment: anyOr(fc.tuple(text, text, freeObject).map(([os, python_version, extra]) => ({ ...extra, os, python_version }))),
      session_id: anyOr(sessionId),
      project: anyOr(text),
      labels: anyOr(fc.dictionary(text, text, { maxKeys: 4 })),
      ci: anyOr(fc.record({ provider: text, run_id: text, branch: text, url: text }, { requiredKeys: [] })),
      extra_key: json,
    },
    { requiredKeys: [] },
  ),
);
const outcomes = fc.constantFrom('passed', 'failed', 'skipped', 'error', 'xfailed', 'xpassed');
const phases = fc.constantFrom('setup', 'call', 'teardown');
const location = fc.record({ path: text, lineno: fc.option(fc.integer({ min: -1, max: 10_000 })), domain: text }, { requiredKeys: ['path'] });
const outcomeArgs = validOrHostile(
  fc.record(
    {
      nodeid: someText,
      outcome: outcomes,
      duration: fc.double({ min: 0, max: 1e6, noNaN: true }),
      error: fc.option(text),
      longrepr: fc.option(text),
      session_id: fc.constantFrom(...POOL),
      when: phases,
      attempt: fc.integer({ min: 1, max: 1000 }),
      location: location.filter(({ lineno }) => lineno == null || lineno >= 0),
    },
    { requiredKeys: ['nodeid', 'outcome', 'duration', 'session_id'] },
  ),
  fc.record(
    {
      nodeid: anyOr(text),
      outcome: anyOr(outcomes),
      duration: anyOr(number),
      error: anyOr(fc.option(text)),
      longrepr: anyOr(fc.option(text)),
      session_id: anyOr(sessionId),
      when: anyOr(phases),
      attempt: anyOr(fc.integer({ min: -1, max: 1001 })),
      location: anyOr(location),
    },
    { requiredKeys: ['nodeid', 'outcome', 'duration'] },
  ),
);
const summaryOf = <T>(n: fc.Arbitrary<T>, status: fc.Arbitrary<unknown>, seconds: fc.Arbitrary<unknown>) =>
  fc.record(
    { total_tests: n, passed: n, failed: n, skipped: n, exitstatus: status, errors: n, duration: seconds },
    { requiredKeys: ['total_tests', 'passed', 'failed', 'skipped', 'exitstatus'] },
  );
const finishArgs = validOrHostile(
  fc.record({ summary: summaryOf(count, fc.integer({ min: -5, max: 5 }), fc.double({ min: 0, max: 1e5, noNaN: true })) }),
  fc.record(
    { summary: anyOr(summaryOf(anyOr(fc.integer({ min: -1, max: 1000 })), anyOr(fc.integer()), anyOr(number))), extra_key: json },
    { requiredKeys: ['summary'] },
  ),
);
const readArgs = fc.record({ session_id: anyOr(sessionId), owner: anyOr(fc.oneof(fc.constant('local'), text)) }, { requiredKeys: [] });

type Call = { structured?: Record<string, any>; refusal?: Refusal };

async function call(tool: string, args: Record<string, unknown>): Promise<Call> {
  const result = await suite.client.call(tool, args);
  if (!result.isError) return { structured: result.structuredContent as Record<string, any> };
  const refusal = Refusal.safeParse(result._meta?.[REFUSAL_META_KEY]);
  expect(refusal.success, `${tool} refused without a code: ${JSON.stringify(result.content).slice(0, 300)}`).toBe(true);
  expect(REFUSAL_CODES).toContain(refusal.data!.code);
  return { refusal: refusal.data! };
}

/** How each tool's cases ended: "accepted" or the refusal code, counted. */
const tally = new Map<string, Map<string, number>>();

/** Calls the tool; a refusal must write nothing, an acceptance at most one event (none for a duplicate). */
async function callCounted(tool: string, args: Record<string, unknown>): Promise<Call> {
  const before = await suite.system.probe.eventCount();
  const answer = await call(tool, args);
  const counts = tally.get(tool) ?? tally.set(tool, new Map()).get(tool)!;
  const ending = answer.refusal?.code ?? 'accepted';
  counts.set(ending, (counts.get(ending) ?? 0) + 1);
  const written = (await suite.system.probe.eventCount()) - before;
  if (answer.refusal) expect(written, `${tool} refused with ${answer.refusal.code} but wrote`).toBe(0);
  else expect(written).toBe(tool === 'get_session' || answer.structured!.duplicate ? 0 : 1);
  // Only the calls' own failures are refusals here: nothing is unavailable, nothing is a bug.
  expect(['INTERNAL', 'WRITE_UNAVAILABLE', 'QUERY_UNAVAILABLE', 'POLICY_UNAVAILABLE']).not.toContain(answer.refusal?.code);
  return answer;
}

const property = <T>(arbitrary: fc.Arbitrary<T>, check: (value: T) => Promise<void>, numRuns: number) =>
  fc.assert(fc.asyncProperty(arbitrary, check), { numRuns, endOnFailure: true });

describe('fuzzing every tool with hostile input', () => {
  it('record_session_start: accepted and read back equal, or refused with a code and nothing written', async () => {
    const pids = [suite.system.gateway.pid, suite.system.projector.pid, suite.system.query.pid];
    for (const session_id of POOL) await suite.client.ok('record_session_start', { session_id, environment });
    await property(
      startArgs,
      async (args) => {
        const { structured } = await callCounted('record_session_start', args);
        if (!structured) return;
        const view = SessionView.parse(await suite.client.ok('get_session', { session_id: structured.session_id }));
        expect(view.environment).toEqual(asJson(args.environment));
        expect(view.labels).toEqual(asJson(args.labels ?? {}));
        expect(view.project).toEqual(args.project ?? null);
        expect(view.ci).toEqual(args.ci === undefined ? null : asJson(args.ci));
      },
      RUNS.record_session_start,
    );
    expect([suite.system.gateway.pid, suite.system.projector.pid, suite.system.query.pid]).toEqual(pids);
  });

  it('record_test_outcome: accepted and stored as sent, or refused with a code and nothing written', async () => {
    await property(
      outcomeArgs,
      async (args) => {
        const { structured } = await callCounted('record_test_outcome', args);
        if (!structured || structured.duplicate) return;
        const stored = (await suite.system.probe.events(structured.session_id)).find(({ seq }) => seq === structured.seq);
        expect(stored?.event.type).toBe('TestOutcomesRecorded');
        const results = stored!.event.type === 'TestOutcomesRecorded' ? stored!.event.data.results : [];
        const { session_id: _ignored, ...outcome } = asJson(args) as OutcomeInput & { session_id?: string };
        const { replaces: _r, superseded: _s, ...result } = results.find((r: TestResult) => r.nodeid === outcome.nodeid)!;
        expect(result).toEqual(asJson(normalizeResult(outcome)));
      },
      RUNS.record_test_outcome,
    );
  });

  it('record_session_finish: accepted and read back equal, or refused with a code and nothing written', async () => {
    let n = 0;
    await property(
      finishArgs,
      async (args) => {
        const session_id = `fin-${n++}`;
        await suite.client.ok('record_session_start', { session_id, environment });
        const { structured } = await callCounted('record_session_finish', { ...args, session_id });
        if (!structured) return;
        const view = SessionView.parse(await suite.client.ok('get_session', { session_id }));
        expect(view).toMatchObject({ status: 'finished', summary: asJson(args.summary) });
      },
      RUNS.record_session_finish,
    );
  });

  it('get_session: a valid view or a refusal with a code', async () => {
    await property(
      readArgs,
      async (args) => {
        const { structured } = await callCounted('get_session', args);
        if (structured) SessionView.parse(structured);
      },
      RUNS.get_session,
    );
  });

  it('tried both sides of every tool: accepted cases and refused ones', () => {
    for (const [tool, counts] of tally) console.log(`fuzz ${tool}: ${JSON.stringify(Object.fromEntries(counts))}`);
    for (const tool of Object.keys(RUNS)) {
      expect(tally.get(tool)?.get('accepted') ?? 0, tool).toBeGreaterThan(RUNS[tool as keyof typeof RUNS] / 20);
      expect(tally.get(tool)?.get('INVALID_ARGUMENTS') ?? 0, tool).toBeGreaterThan(RUNS[tool as keyof typeof RUNS] / 20);
    }
  });

  it('leaves every session it touched writable, and no process restarted', async () => {
    for (const session_id of POOL) {
      const { seq } = await suite.client.ok('record_test_outcome', { session_id, nodeid: `after-fuzz::${session_id}`, outcome: 'passed', duration: 1 });
      expect(await suite.client.ok('get_session', { session_id })).toMatchObject({ session_id, stuck: null, last_seq: seq });
    }
    for (const app of [suite.system.gateway, suite.system.projector, suite.system.query]) {
      expect(app.proc.child.exitCode, app.name).toBeNull();
      expect(app.proc.logs, app.name).not.toMatch(/\bERROR\b/);
    }
  });
});
