import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, describe, expect, it } from 'vitest';
import { CHANGES_STREAM, readModelGroup, SESSIONS_BUCKET, SessionChangeNotice } from '#contracts';
import { App, distEntry } from './harness/apps.js';
import { environment } from './harness/fixtures.js';
import { McpTestClient } from './harness/mcp-client.js';
import { eventually, Proc } from './harness/processes.js';
import { useSystem } from './harness/use-system.js';

/**
 * Two hosts keeping SQLite: the system's own projector and query app (the default read-model group)
 * and a second host's (group `hostb`, its own file), each folding the whole stream into its own file.
 */
const suite = useSystem();
const GROUP = 'hostb';
const OUTCOMES = 6;
const hostDir = mkdtempSync(join(tmpdir(), 'mcp-pytest-hostb-'));
const hostEnv = () => ({ ...suite.system.env, READ_MODEL_GROUP: GROUP, READ_MODEL_URL: `sqlite:${join(hostDir, 'read-models.sqlite')}` });
let hostProjector: App | undefined;
let hostQuery: App | undefined;

afterAll(async () => {
  await Promise.all([hostProjector?.stop(), hostQuery?.stop()]);
  rmSync(hostDir, { recursive: true, force: true });
});

/** Records a session of OUTCOMES outcomes, finished; answers the finish's stream sequence. */
async function recordSession(session_id: string): Promise<number> {
  const client = await McpTestClient.http(suite.system.gateway.mcpUrl);
  try {
    await client.ok('record_session_start', { session_id, environment });
    for (let i = 0; i < OUTCOMES; i++)
      await client.ok('record_test_outcome', { nodeid: `tests/test_groups.py::test_${i}`, outcome: i === 0 ? 'failed' : 'passed', duration: 0.01 });
    const finish = await client.ok('record_session_finish', {
      summary: { total_tests: OUTCOMES, passed: OUTCOMES - 1, failed: 1, skipped: 0, exitstatus: 1 },
    });
    return finish.seq as number;
  } finally {
    await client.close();
  }
}

async function api(app: App, path: string): Promise<any> {
  const response = await fetch(new URL(path, app.httpUrl));
  expect(response.status, `${path} on ${app.name}`).toBe(200);
  return response.json();
}

/** The sessions a query app's HTTP API lists (its own group's SQLite), by id, with their counts. */
async function listed(app: App): Promise<Map<string, unknown>> {
  const { sessions } = await api(app, '/api/sessions?limit=100');
  return new Map(sessions.map((session: { session_id: string; counts: unknown }) => [session.session_id, session.counts]));
}

const views = async () => new Kvm(suite.system.probe.nc).open(SESSIONS_BUCKET, { bindOnly: true });

describe('read-model groups (a SQLite file per host)', () => {
  const ids = ['before-1', 'before-2', 'during-1', 'during-2', 'while-down'];
  const lastSeqs = new Map<string, number>();

  it('a second host folds the whole stream, from before it started, into its own file', async () => {
    for (const id of ids.slice(0, 2)) lastSeqs.set(id, await recordSession(id));
    hostProjector = await App.start('projector', hostEnv());
    hostQuery = await App.start('query', hostEnv());
    expect(hostProjector.proc.logs).toMatch(/replica \S+ of read-model group hostb/);
    for (const id of ids.slice(2, 4)) lastSeqs.set(id, await recordSession(id));

    const wanted = ids.slice(0, 4);
    const host = await eventually(
      async () => {
        const sessions = await listed(hostQuery!);
        return wanted.every((id) => sessions.has(id)) && sessions;
      },
      30_000,
      'the second host to list every session',
    );
    const own = await listed(suite.system.query);
    for (const id of wanted) expect(host.get(id), id).toEqual(own.get(id));
    expect(host.get('before-1')).toMatchObject({ total: OUTCOMES, failed: 1, passed: OUTCOMES - 1 });

    // Views of each group under keys of their own, folded to the same state.
    const kv = await views();
    const group = readModelGroup(GROUP);
    for (const id of wanted) {
      const ref = { owner: 'local', sessionId: id };
      const theirs = await eventually(
        async () => {
          const view = (await kv.get(group.viewKey(ref)))?.json<{ last_seq: number }>();
          return view?.last_seq === lastSeqs.get(id) && view;
        },
        30_000,
        `${id} in group ${GROUP}'s views`,
      );
      expect(theirs).toEqual((await kv.get(readModelGroup().viewKey(ref)))?.json());
    }
    // Its query app reads its own group's view.
    expect(await api(hostQuery, '/api/sessions/during-2')).toMatchObject({ session_id: 'during-2', last_seq: lastSeqs.get('during-2'), status: 'finished' });
  });

  it('keeps one change notice per change in the change stream, though each group publishes its own', async () => {
    const seen = new Map<string, number>();
    const consumer = await jetstream(suite.system.probe.nc).consumers.get(CHANGES_STREAM);
    const { state } = await suite.system.probe.jsm.streams.info(CHANGES_STREAM);
    for await (const msg of await consumer.fetch({ max_messages: state.messages, expires: 5_000 })) {
      const notice = SessionChangeNotice.parse(msg.json());
      const change = `${notice.session_id}@${notice.last_seq}:${notice.status}`;
      seen.set(change, (seen.get(change) ?? 0) + 1);
      if (msg.info.pending === 0) break;
    }
    expect(seen.size).toBeGreaterThan(0);
    expect([...seen].filter(([, times]) => times > 1)).toEqual([]);
  });

  it('a host whose projector is SIGKILLed catches up when it is back; the other host goes on meanwhile', async () => {
    await hostProjector!.proc.kill();
    lastSeqs.set('while-down', await recordSession('while-down'));
    const { response } = await suite.system.probe.request<{ response?: { last_seq: number } }>('get-session', {
      session_id: 'while-down',
      owner: 'local',
      min_seq: lastSeqs.get('while-down'),
    });
    // Either query app may answer; the second host's waits for its projector and says it is behind.
    expect([lastSeqs.get('while-down'), undefined]).toContain(response?.last_seq);
    expect((await listed(suite.system.query)).has('while-down')).toBe(true);
    expect((await listed(hostQuery!)).has('while-down')).toBe(false);

    await hostProjector!.restart();
    const host = await eventually(
      async () => {
        const sessions = await listed(hostQuery!);
        return sessions.has('while-down') && sessions;
      },
      30_000,
      'the second host to fold what it missed',
    );
    expect(host.get('while-down')).toEqual((await listed(suite.system.query)).get('while-down'));
  });

  it("rebuilds one group's read models without touching the other's", async () => {
    const kv = await views();
    const defaultKey = readModelGroup().viewKey({ owner: 'local', sessionId: 'during-1' });
    const before = (await kv.get(defaultKey))!.revision;
    await hostProjector!.stop();
    const rebuild = Proc.spawn('rebuild', process.execPath, [distEntry('apps/projector/src/main.rebuild.js')], hostEnv());
    expect(await rebuild.finished(60_000), rebuild.logs).toBe(0);
    expect(rebuild.logs).toMatch(/dropped the \d+ session views of read-model group hostb/);
    expect((await kv.get(defaultKey))!.revision).toBe(before);
    expect([...(await listed(hostQuery!)).keys()].sort()).toEqual([...ids].sort());
    await hostProjector!.restart();
  });
});
