import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { jetstream } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { EVENTS_STREAM, eventSubject, LIMITS, REFUSAL_META_KEY } from '#contracts';
import { distEntry } from './harness/apps.js';
import { McpTestClient } from './harness/mcp-client.js';
import { eventually, testEnv } from './harness/processes.js';
import { mcpHeaders, openRawSession, rawPost } from './harness/raw-http.js';
import { useSystem } from './harness/use-system.js';

const environment = { os: 'Linux', python_version: '3.13.1' };
const outcome = { nodeid: 'tests/test_a.py::test_a', outcome: 'failed', duration: 0.1 };

const suite = useSystem();
const run = promisify(execFile);

/** `{ os, python_version, extra: { a: { a: … } } }` with the extra object `levels` deep. */
function nested(levels: number): Record<string, unknown> {
  let inner: Record<string, unknown> = { leaf: 'x' };
  for (let i = 1; i < levels; i++) inner = { a: inner };
  return { ...environment, extra: inner };
}

describe('hostile input never poisons a session', () => {
  it('refuses nesting beyond the bound, naming the field and the rule, and the session stays writable', async () => {
    const before = await suite.system.probe.eventCount();
    // (Much deeper cannot even be serialised by the client: JSON.stringify overflows.)
    for (const depth of [LIMITS.jsonDepth, 70, 4_000]) {
      const refusal = await suite.client.refusal('record_session_start', { session_id: 'deep', environment: nested(depth) });
      expect(refusal.code).toBe('INVALID_ARGUMENTS');
      expect(refusal.message).toMatch(new RegExp(`environment\\.extra(\\.a)+: nested deeper than (${LIMITS.jsonDepth}|${LIMITS.argumentDepth}) levels`));
    }
    expect(await suite.system.probe.eventCount()).toBe(before);
    // The deepest that is accepted (the environment is level 1) is stored and read back as given.
    const deepest = nested(LIMITS.jsonDepth - 1);
    await suite.client.ok('record_session_start', { session_id: 'deep', environment: deepest });
    await suite.client.ok('record_test_outcome', { ...outcome, session_id: 'deep' });
    expect(await suite.client.ok('get_session', { session_id: 'deep' })).toMatchObject({ environment: deepest, counts: { failed: 1 } });
    await suite.system.gateway.restart();
    await suite.client.close();
    suite.client = await McpTestClient.http(suite.system.gateway.mcpUrl);
    await suite.client.ok('record_test_outcome', { ...outcome, nodeid: 't::after-restart', session_id: 'deep' });
  });

  it('refuses half a million levels of nesting sent as raw JSON, which no client library could even build', async () => {
    const url = suite.system.gateway.mcpUrl;
    const session = { 'mcp-session-id': await openRawSession(url), 'mcp-protocol-version': '2025-06-18' };
    const levels = 500_000;
    const deep = `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
    const call = `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"record_session_start","arguments":{"session_id":"raw-deep","environment":{"os":"Linux","python_version":"3.13","x":${deep}}}}}`;
    const before = await suite.system.probe.eventCount();
    const answer = await rawPost(url, Buffer.from(call), mcpHeaders(undefined, session));
    expect(answer.status).toBe(200);
    const { result } = JSON.parse(answer.body!) as { result: { isError: boolean; _meta: Record<string, { code: string; message: string }> } };
    expect(result.isError).toBe(true);
    expect(result._meta[REFUSAL_META_KEY]).toMatchObject({
      code: 'INVALID_ARGUMENTS',
      message: expect.stringMatching(/environment\.x(\.a)+: nested deeper than/),
    });
    expect(await suite.system.probe.eventCount()).toBe(before);
    await suite.client.ok('record_session_start', { session_id: 'raw-deep', environment });
  });

  it('refuses too many keys, and __proto__ keys, rather than dropping them; keeps other keys as data', async () => {
    const wide = { ...environment, many: Object.fromEntries(Array.from({ length: LIMITS.jsonEntries }, (_, i) => [`k${i}`, i])) };
    expect(await suite.client.refusal('record_session_start', { environment: wide })).toMatchObject({
      code: 'INVALID_ARGUMENTS',
      message: expect.stringMatching(`environment.many: more than ${LIMITS.jsonEntries} keys and items in all`),
    });
    const proto = JSON.parse('{"os":"Linux","python_version":"3.13","plugins":{"__proto__":{"polluted":true}}}');
    expect(await suite.client.refusal('record_session_start', { environment: proto })).toMatchObject({
      code: 'INVALID_ARGUMENTS',
      message: expect.stringContaining('environment.plugins: the key "__proto__" is not allowed'),
    });
    const labels = JSON.parse('{"__proto__":"x"}');
    expect((await suite.client.refusal('record_session_start', { environment, labels })).message).toMatch(/labels.*"__proto__" is not allowed/);
    const kept = { ...environment, constructor: 'c', toString: 'kept', prototype: { hasOwnProperty: 1 } };
    await suite.client.ok('record_session_start', { session_id: 'odd-keys', environment: kept, labels: { constructor: 'x' } });
    expect(await suite.client.ok('get_session', { session_id: 'odd-keys' })).toMatchObject({ environment: kept, labels: { constructor: 'x' } });
  });

  it('tells retries from different content exactly, whatever control characters the text holds', async () => {
    await suite.client.ok('record_session_start', { session_id: 'exact', environment });
    const first = await suite.client.ok('record_test_outcome', { ...outcome, session_id: 'exact' });
    const retry = await suite.client.ok('record_test_outcome', { ...outcome, session_id: 'exact' });
    expect(retry).toMatchObject({ seq: first.seq, duplicate: true });
    expect((await suite.client.refusal('record_test_outcome', { ...outcome, session_id: 'exact', error: '\u0001' })).code).toBe('OUTCOME_CONFLICT');
    const ab = { ...outcome, nodeid: 't::ab', session_id: 'exact' };
    await suite.client.ok('record_test_outcome', { ...ab, error: 'A', longrepr: 'B\u0000\u0001' });
    expect((await suite.client.refusal('record_test_outcome', { ...ab, error: 'A\u0000B', longrepr: '\u0001' })).code).toBe('OUTCOME_CONFLICT');
  });

  it('marks a session the projector cannot fold as stuck, goes on with others, and re-folds it once fixed', async () => {
    const { probe } = suite.system;
    const js = jetstream(probe.nc);
    await suite.client.ok('record_session_start', { session_id: 'stuck', environment });
    const { seq: goodSeq } = await suite.client.ok('record_test_outcome', { ...outcome, session_id: 'stuck' });
    const good = await probe.events('stuck');
    // Something other than the gateway puts a message that is no event on the session's subject.
    const subject = eventSubject({ owner: 'local', sessionId: 'stuck' });
    const forged = await js.publish(subject, JSON.stringify({ type: 'SessionStarted', v: 1, sessionId: 'stuck' }));
    const view = await eventually(async () => {
      const current = await suite.client.ok('get_session', { session_id: 'stuck' });
      return current.stuck ? current : undefined;
    });
    expect(view).toMatchObject({ last_seq: goodSeq, counts: { failed: 1 }, stuck: { seq: forged.seq, reason: expect.stringContaining('id:') } });
    expect(suite.system.projector.proc.logs).toMatch(new RegExp(`session local.stuck is stuck at stream sequence ${forged.seq}`));
    // The projector goes on with every other session.
    await suite.client.ok('record_session_start', { session_id: 'after-stuck', environment });
    await suite.client.ok('record_test_outcome', { ...outcome, session_id: 'after-stuck' });
    expect(await suite.client.ok('get_session', { session_id: 'after-stuck' })).toMatchObject({ counts: { failed: 1 }, stuck: null });
    // The gateway refuses to write on a log it cannot read, with a code of its own (not WRITE_UNAVAILABLE).
    expect(await suite.client.refusal('record_test_outcome', { ...outcome, nodeid: 't::2', session_id: 'stuck' })).toMatchObject({
      code: 'SESSION_UNREADABLE',
      message: expect.stringContaining(`stream sequence ${forged.seq}`),
    });
    // Still stuck: the re-fold says so, and exits 2.
    const unfixed: { code?: number; stdout: string; stderr: string } = await refold().catch((error) => error);
    expect(unfixed.code).toBe(2);
    expect(await suite.client.ok('get_session', { session_id: 'stuck' })).toMatchObject({ counts: { failed: 1 }, stuck: { seq: forged.seq } });
    expect(unfixed.stdout + unfixed.stderr).toMatch(`local.stuck: still stuck at stream sequence ${forged.seq}`);
    // The operator repairs the log: the session's subject is purged and its good events put back.
    await probe.jsm.streams.purge(EVENTS_STREAM, { filter: subject });
    for (const { event } of good) await js.publish(subject, JSON.stringify(event));
    const { stdout, stderr } = await refold();
    expect(stdout + stderr).toMatch(/local\.stuck: running, 2 event\(s\) folded/);
    expect(await suite.client.ok('get_session', { session_id: 'stuck' })).toMatchObject({ stuck: null, counts: { failed: 1 } });
    await suite.client.ok('record_test_outcome', { ...outcome, nodeid: 't::2', session_id: 'stuck' });
    expect(await suite.client.ok('get_session', { session_id: 'stuck' })).toMatchObject({ stuck: null, counts: { failed: 2 } });
  });
});

describe('events out of place in the log', () => {
  it('marks a session stuck when an event repeats a version or its predecessor is missing, and the gateway refuses to write on it', async () => {
    const { probe } = suite.system;
    const js = jetstream(probe.nc);
    await suite.client.ok('record_session_start', { session_id: 'repeat', environment });
    await suite.client.ok('record_test_outcome', { ...outcome, session_id: 'repeat' });
    const [, second] = await probe.events('repeat');
    const repeated = await js.publish(eventSubject({ owner: 'local', sessionId: 'repeat' }), JSON.stringify({ ...second!.event, id: 'forged-1' }));
    const stuck = await eventually(async () => (await suite.client.ok('get_session', { session_id: 'repeat' })).stuck ?? undefined);
    expect(stuck).toMatchObject({ seq: repeated.seq, reason: 'it repeats version 2, folded before' });

    await suite.client.ok('record_session_start', { session_id: 'gap', environment });
    const [start] = await probe.events('gap');
    const skipping = {
      ...start!.event,
      id: 'forged-2',
      version: 3,
      type: 'SessionFinished',
      data: { summary: { total_tests: 0, passed: 0, failed: 0, skipped: 0, exitstatus: 0 } },
    };
    const gap = await js.publish(eventSubject({ owner: 'local', sessionId: 'gap' }), JSON.stringify(skipping));
    const missing = await eventually(async () => (await suite.client.ok('get_session', { session_id: 'gap' })).stuck ?? undefined);
    expect(missing).toMatchObject({ seq: gap.seq, reason: "the session's event 2 is not in the stream before this one" });
    expect((await suite.client.refusal('record_test_outcome', { ...outcome, session_id: 'gap' })).code).toBe('SESSION_UNREADABLE');
  });

  it('keeps sessions recorded before owners, and before partitions, readable and read-only', async () => {
    const { probe } = suite.system;
    const started = (id: string, sessionId: string) => ({
      type: 'SessionStarted',
      v: 1,
      id,
      sessionId,
      version: 1,
      at: new Date().toISOString(),
      actor: { agent: 'local', via: 'http' },
      data: { environment },
    });
    // A stream from an earlier version holds sessions on the subjects of its day (`pytest.events.<id>`
    // before owners, `pytest.events.<owner>.<id>` before partitions) and keeps taking them when
    // upgraded; the projector started on such a stream folds them too.
    const { config } = await probe.jsm.streams.info(EVENTS_STREAM);
    await probe.jsm.streams.update(EVENTS_STREAM, { ...config, subjects: [...config.subjects, 'pytest.events.*', 'pytest.events.*.*'] });
    await jetstream(probe.nc).publish('pytest.events.old-1', JSON.stringify(started('legacy-start', 'old-1')));
    await jetstream(probe.nc).publish('pytest.events.local.mid-1', JSON.stringify(started('unpartitioned-start', 'mid-1')));
    await suite.system.projector.restart();
    for (const [session_id, when] of [
      ['old-1', 'before sessions had owners'],
      ['mid-1', 'before the event stream had partitions'],
    ] as const) {
      const view = await eventually(() => suite.client.ok('get_session', { session_id }).catch(() => undefined));
      expect(view).toMatchObject({ session_id, owner: 'local', status: 'running' });
      const refusal = await suite.client.refusal('record_session_start', { session_id, environment });
      expect(refusal).toMatchObject({ code: 'SESSION_READ_ONLY', message: expect.stringContaining(when) });
      expect((await suite.client.refusal('record_test_outcome', { ...outcome, session_id })).code).toBe('SESSION_READ_ONLY');
    }
  });
});

/** `npm run refold -- --stuck`, as an operator runs it (the built entry, with this system's NATS). */
const refold = () => run(process.execPath, [distEntry('apps/projector/src/main.refold.js'), '--stuck'], { env: testEnv(suite.system.env) });
