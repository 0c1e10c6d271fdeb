import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANGES_STREAM, SessionChangeNotice } from '#contracts';
import { App } from './harness/apps.js';
import { environment } from './harness/fixtures.js';
import { McpTestClient } from './harness/mcp-client.js';
import { PolicyFiles } from './harness/policy-files.js';
import { eventually } from './harness/processes.js';
import { SseClient } from './harness/sse.js';
import { System } from './harness/system.js';

const PROJECT = 'shop';
const FLAKY = 'tests/test_cart.py::test_flaky';
const BROKEN = 'tests/test_pay.py::test_total';

/** What a GET answered: status, headers and the JSON body. */
interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

async function get(base: URL, path: string, { key, headers = {} }: { key?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const response = await fetch(new URL(path, base), { headers: { ...headers, ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) } });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

/** A request with a Host header of its own (fetch does not let one be set). */
function getWithHost(base: URL, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The change notices a stream received. */
const notices = (client: SseClient) => client.of('change').map((event) => SessionChangeNotice.parse(JSON.parse(event.data)));

/** Waits until the stream received a notice of the session (in `status`, where given). The projector folds in batches: how many notices one session makes varies. */
const heard = (client: SseClient, sessionId: string, status?: string) =>
  eventually(
    () => notices(client).some((n) => n.session_id === sessionId && (status === undefined || n.status === status)),
    10_000,
    `a notice of ${sessionId}`,
  );

const query = (args: Record<string, unknown>) =>
  new URLSearchParams(Object.fromEntries(Object.entries(args).map(([name, value]) => [name, String(value)]))).toString();

/** Records a session of the project: a flaky test that fails on odd runs, and one broken test. */
async function record(client: McpTestClient, id: string, run: number, { finish = true, project = PROJECT } = {}): Promise<void> {
  await client.ok('record_session_start', { session_id: id, environment, project, ci: { branch: 'main' } });
  await client.ok('record_test_outcomes', {
    session_id: id,
    outcomes: [
      { nodeid: FLAKY, outcome: run % 2 ? 'failed' : 'passed', duration: 0.1, ...(run % 2 ? { error: 'TimeoutError: waited 5 s' } : {}) },
      { nodeid: BROKEN, outcome: 'failed', duration: 0.2, error: `AssertionError: assert ${run} == 4` },
    ],
  });
  if (finish) {
    const failed = 1 + (run % 2);
    await client.ok('record_session_finish', { session_id: id, summary: { total_tests: 2, passed: 2 - failed, failed, skipped: 0, exitstatus: 1 } });
  }
  await client.ok('get_session', { session_id: id });
}

describe('query app HTTP API, with keys and a policy', () => {
  const files = PolicyFiles.create({
    version: '1',
    default: 'allow',
    grants: {
      dashboards: { default: 'allow', sessions: { read: 'all' } },
      nohistory: { default: 'allow', hide: ['get_test_history'] },
    },
  });
  let system: System;
  let base: URL;
  const keys: Record<'ci' | 'other' | 'board' | 'nohistory', string> = { ci: '', other: '', board: '', nohistory: '' };
  let ci: McpTestClient;
  let other: McpTestClient;
  let board: McpTestClient;

  beforeAll(async () => {
    for (const grant of ['ci', 'other', 'nohistory'] as const) keys[grant] = await files.addKey(`${grant}-1`, grant);
    keys.board = await files.addKey('board-1', 'dashboards');
    system = await System.start({ env: { KEYS_FILE: files.keys, POLICY_FILE: files.policy } });
    base = system.queryHttpUrl;
    const connect = (key: string) => McpTestClient.http(system.gateway.mcpUrl, { key });
    [ci, other, board] = await Promise.all([connect(keys.ci), connect(keys.other), connect(keys.board)]);
    for (let run = 1; run <= 3; run++) await record(ci, `shop-${run}`, run);
  });
  afterAll(async () => {
    await Promise.all([ci, other, board].map((client) => client?.close()));
    await system?.stop();
    files.dispose();
  });

  /** Each endpoint, with the tool it answers for and arguments to both. */
  const READS: [string, string, Record<string, unknown>][] = [
    ['/api/sessions', 'list_sessions', { project: PROJECT, limit: 2 }],
    ['/api/sessions', 'list_sessions', { status: 'finished' }],
    ['/api/sessions/shop-2', 'get_session', { session_id: 'shop-2' }],
    ['/api/sessions/shop-2/tests', 'get_session_tests', { session_id: 'shop-2', outcome: 'failed' }],
    ['/api/tests/history', 'get_test_history', { project: PROJECT, nodeid: FLAKY }],
    ['/api/flaky', 'get_flaky_tests', { project: PROJECT, window: 10 }],
    ['/api/failure-groups', 'get_failure_groups', { project: PROJECT }],
    ['/api/failure-groups', 'get_failure_groups', { session_id: 'shop-3' }],
  ];
  /** The query string of an endpoint: the tool's arguments but the session id a path already names. */
  const search = (path: string, args: Record<string, unknown>) => {
    const { session_id, ...rest } = args;
    return query(path.startsWith('/api/sessions/') ? rest : { ...rest, ...(session_id === undefined ? {} : { session_id }) });
  };

  it.each(READS)('%s answers the JSON of %s (%j)', async (path, tool, args) => {
    const answer = await get(base, `${path}?${search(path, args)}`, { key: keys.ci });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.body).toEqual(await ci.ok(tool, args));
  });

  it('answers a grant that reads all, for another owner, as its tools do', async () => {
    for (const [path, tool, args] of READS) {
      const withOwner = { ...args, owner: 'ci' };
      const answer = await get(base, `${path}?${search(path, withOwner)}`, { key: keys.board });
      expect(answer.body, path).toEqual(await board.ok(tool, withOwner));
    }
    expect((await get(base, '/api/sessions', { key: keys.board })).body.sessions).toHaveLength(3);
  });

  it('refuses bad parameters with 400, naming the parameter', async () => {
    const cases: [string, RegExp][] = [
      ['/api/sessions?limit=101', /limit: must be at most 100/],
      ['/api/sessions?limit=two', /limit: must be a number/],
      ['/api/sessions?status=done', /status/],
      ['/api/sessions?colour=red', /colour/],
      ['/api/sessions?limit=1&limit=2', /limit: given more than once/],
      ['/api/sessions?cursor=made-up', /cursor/],
      ['/api/sessions/shop-1?session_id=shop-2', /session_id/],
      ['/api/tests/history?project=shop', /nodeid/],
      ['/api/flaky', /project/],
      ['/api/failure-groups', /session_id: give either session_id or project/],
      ['/api/events?last_event_id=-1', /last_event_id/],
    ];
    for (const [path, message] of cases) {
      const { status, body } = await get(base, path, { key: keys.ci });
      expect({ path, status, code: body.error?.code }).toEqual({ path, status: 400, code: 'INVALID_ARGUMENTS' });
      expect(body.error.message, path).toMatch(message);
    }
  });

  it('asks for a key: none, an unknown one, or one in the query string of a read: 401', async () => {
    for (const [path, key, why] of [
      ['/api/sessions', undefined, /missing bearer key/],
      ['/api/sessions', 'not-a-key', /unknown or revoked key/],
      [`/api/sessions?access_token=${keys.ci}`, undefined, /missing bearer key/],
      ['/api/events', undefined, /missing bearer key/],
      ['/api/events?access_token=not-a-key', undefined, /unknown or revoked key/],
    ] as const) {
      const { status, body, headers } = await get(base, path, { key });
      expect({ path, status, code: body.error.code }).toEqual({ path, status: 401, code: 'UNAUTHENTICATED' });
      expect(body.error.message, path).toMatch(why);
      expect(headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect((await get(base, '/api/health')).body).toEqual({ status: 'ok', nats: 'connected' });
  });

  it("shows another grant none of the first grant's sessions, on every endpoint", async () => {
    const as = (path: string) => get(base, path, { key: keys.other });
    expect((await as('/api/sessions')).body).toEqual({ sessions: [], next_cursor: null });
    expect((await as('/api/sessions/shop-1')).body.error.code).toBe('SESSION_NOT_FOUND');
    expect((await as('/api/sessions/shop-1')).status).toBe(404);
    expect((await as('/api/sessions/shop-1/tests')).status).toBe(404);
    expect((await as(`/api/tests/history?${query({ project: PROJECT, nodeid: FLAKY })}`)).body.runs).toEqual([]);
    expect((await as(`/api/flaky?project=${PROJECT}`)).body).toMatchObject({ sessions: 0, tests: [], slowest: [] });
    expect((await as(`/api/failure-groups?project=${PROJECT}`)).body).toEqual({ groups: [] });
    expect((await as('/api/failure-groups?session_id=shop-1')).status).toBe(404);
    for (const path of ['/api/sessions?owner=ci', '/api/sessions/shop-1?owner=ci', '/api/sessions/shop-1/tests?owner=ci', '/api/events?owner=ci']) {
      const { status, body } = await as(path);
      expect({ path, status, code: body.error.code }).toEqual({ path, status: 403, code: 'SESSION_ACCESS_DENIED' });
    }
    // Its own event stream hears nothing of the first grant's changes, while the first grant's does.
    const mine = await SseClient.open(new URL('/api/events', base), { key: keys.ci });
    const theirs = await SseClient.open(new URL('/api/events', base), { key: keys.other });
    const everyone = await SseClient.open(new URL('/api/events', base), { key: keys.board });
    await record(ci, 'shop-private', 4, { finish: false });
    await heard(mine, 'shop-private');
    await heard(everyone, 'shop-private');
    await record(other, 'other-own', 1, { finish: false });
    await heard(theirs, 'other-own');
    await heard(everyone, 'other-own');
    expect(new Set(notices(theirs).map((n) => `${n.owner}/${n.session_id}`))).toEqual(new Set(['other/other-own']));
    expect(new Set(notices(mine).map((n) => n.owner))).toEqual(new Set(['ci']));
    await Promise.all([mine, theirs, everyone].map((client) => client.close()));
  });

  it('hides the endpoint of a tool the policy hides from the grant', async () => {
    const history = await get(base, `/api/tests/history?${query({ project: PROJECT, nodeid: FLAKY })}`, { key: keys.nohistory });
    expect(history.status).toBe(403);
    expect(history.body.error).toMatchObject({ code: 'POLICY_DENIED', message: expect.stringMatching(/get_test_history is hidden by policy/) });
    expect((await get(base, '/api/sessions', { key: keys.nohistory })).status).toBe(200);
  });

  it('answers unknown paths 404 and other methods 405, as JSON, with security headers', async () => {
    const unknown = await get(base, '/api/nothing', { key: keys.ci });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NO_SUCH_ENDPOINT');
    expect(unknown.headers.get('x-content-type-options')).toBe('nosniff');
    expect(unknown.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(unknown.headers.get('referrer-policy')).toBe('no-referrer');
    const post = await fetch(new URL('/api/sessions', base), { method: 'POST', headers: { authorization: `Bearer ${keys.ci}` }, body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    expect(((await post.json()) as { error: { code: string } }).error.code).toBe('NO_SUCH_ENDPOINT');
  });

  it('serves the dashboard at / without a key, and nothing outside its folder', async () => {
    const page = await get(base, '/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.body).toMatch(/<html/);
    const etag = page.headers.get('etag')!;
    expect((await fetch(new URL('/index.html', base), { headers: { 'if-none-match': etag } })).status).toBe(304);
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/..%2fpackage.json', '/.env', '/index.html/', '/nothing.js']) {
      expect((await get(base, path)).status, path).toBe(404);
    }
  });

  it('streams changes live, and resumes after a dropped connection with exactly the missed events', async () => {
    const events = new URL('/api/events', base);
    // Open for the whole test: what a client that never dropped got.
    const reference = await SseClient.open(events, { key: keys.ci });
    const first = await SseClient.open(events, { key: keys.ci });
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toMatch(/^text\/event-stream/);
    await record(ci, 'live-1', 1);
    await heard(first, 'live-1', 'finished');
    const ids = first.of('change').map((event) => Number(event.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    await first.close();

    // Missed while disconnected.
    await record(ci, 'live-2', 2);
    await record(ci, 'live-3', 3, { project: 'other-project' });
    const resumed = await SseClient.open(events, { key: keys.ci, lastEventId: first.lastEventId });
    await record(ci, 'live-4', 4, { finish: false });
    await heard(reference, 'live-4');
    await heard(resumed, 'live-4');
    const expected = reference.of('change').filter((event) => Number(event.id) > Number(first.lastEventId));
    expect(expected.length).toBeGreaterThanOrEqual(3);
    expect(resumed.of('change')).toEqual(expected);

    // The same with the resume point and the key in the query string (EventSource sends no headers), and a project filter.
    const byQuery = await SseClient.open(
      new URL(`/api/events?${query({ access_token: keys.ci, last_event_id: first.lastEventId, project: 'other-project' })}`, base),
    );
    await heard(byQuery, 'live-3', 'finished');
    expect(byQuery.of('change')).toEqual(expected.filter((event) => JSON.parse(event.data).project === 'other-project'));
    expect(new Set(notices(byQuery).map((n) => n.session_id))).toEqual(new Set(['live-3']));
    await Promise.all([reference, resumed, byQuery].map((client) => client.close()));
  });

  it('follows one session with session_id', async () => {
    const stream = await SseClient.open(new URL('/api/events?session_id=one-only', base), { key: keys.ci });
    await record(ci, 'not-this-one', 1, { finish: false });
    await record(ci, 'one-only', 1);
    await heard(stream, 'one-only', 'finished');
    expect(new Set(notices(stream).map((n) => n.session_id))).toEqual(new Set(['one-only']));
    await stream.close();
    // A client gone takes its consumer with it.
    await eventually(async () => (await system.probe.jsm.consumers.list(CHANGES_STREAM).next()).length === 0, 10_000, 'no consumer left');
  });

  it('ends the event streams of a key once it is revoked', async () => {
    const stream = await SseClient.open(new URL('/api/events', base), { key: keys.nohistory });
    expect(stream.status).toBe(200);
    await files.revoke('nohistory-1');
    await stream.ended;
    expect((await get(base, '/api/sessions', { key: keys.nohistory })).status).toBe(401);
  });

  it('tells a client to reload (event: reset) when its last event is no longer kept', async () => {
    const before = await SseClient.open(new URL('/api/events', base), { key: keys.ci });
    await system.probe.jsm.streams.purge(CHANGES_STREAM);
    await before.close();
    const stale = await SseClient.open(new URL('/api/events', base), { key: keys.ci, lastEventId: '1' });
    const [reset] = await stale.waitFor('reset', 1);
    const { state } = await system.probe.jsm.streams.info(CHANGES_STREAM);
    expect(Number(reset!.id)).toBe(state.last_seq);
    // Then it goes on from there.
    await record(ci, 'after-reset', 1, { finish: false });
    await heard(stale, 'after-reset');
    expect(Number(stale.of('change')[0]!.id)).toBeGreaterThan(state.last_seq);
    await stale.close();
  });
});

describe('query app HTTP API, without keys', () => {
  let system: System;
  let local: McpTestClient;

  beforeAll(async () => {
    system = await System.start();
    local = await McpTestClient.http(system.gateway.mcpUrl);
    await record(local, 'local-1', 1);
  });
  afterAll(async () => {
    await local?.close();
    await system?.stop();
  });

  it('answers every caller as the local identity, on loopback Host names only', async () => {
    const base = system.queryHttpUrl;
    const { body } = await get(base, '/api/sessions');
    expect(body).toEqual(await local.ok('list_sessions', {}));
    expect(body.sessions.map((s: { owner: string }) => s.owner)).toEqual(['local']);
    expect(await getWithHost(base, '/api/sessions', `localhost:${base.port}`)).toBe(200);
    expect(await getWithHost(base, '/api/sessions', `evil.example:${base.port}`)).toBe(403);
    expect(await getWithHost(base, '/', `evil.example:${base.port}`)).toBe(403);
  });

  it('caps open event streams (QUERY_SSE_MAX_CLIENTS): 503 beyond, a place again once one closes', async () => {
    const capped = await App.start('query', { ...system.env, QUERY_SSE_MAX_CLIENTS: '1' });
    try {
      const events = new URL('/api/events', capped.httpUrl);
      const first = await SseClient.open(events);
      expect(first.status).toBe(200);
      const second = await SseClient.open(events);
      expect(second.status).toBe(503);
      await second.ended;
      expect(JSON.parse(second.body).error.code).toBe('TOO_MANY_STREAMS');
      await first.close();
      const third = await eventually(async () => {
        const stream = await SseClient.open(events);
        if (stream.status === 200) return stream;
        await stream.close();
        return undefined;
      });
      await third.close();
    } finally {
      await capped.stop();
    }
  });

  it('refuses to listen beyond loopback, and says why', async () => {
    await expect(App.start('query', { ...system.env, QUERY_HTTP_HOST: '0.0.0.0' })).rejects.toThrow(
      /QUERY_HTTP_HOST=0\.0\.0\.0 is reachable from other machines, and there is no KEYS_FILE/,
    );
  });
});
