import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, errors, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approvalSubject,
  changeSubject,
  EVENTS_STREAM,
  eventSubject,
  PROJECTOR_LEASES_BUCKET,
  readModelGroup,
  QUERY_PATTERNS,
  SESSIONS_BUCKET,
} from '#contracts';
import { App, distEntry, root, type AppName } from './harness/apps.js';
import { environment, emptySummary as summary } from './harness/fixtures.js';
import { McpTestClient, text } from './harness/mcp-client.js';
import { NatsServer } from './harness/nats-server.js';
import { cliProcess, cliRun, PolicyFiles } from './harness/policy-files.js';
import { eventually, Proc } from './harness/processes.js';
import { SseClient } from './harness/sse.js';

type NatsUser = AppName | 'operator' | 'dashboards';
const PASSWORDS: Record<NatsUser, string> = {
  gateway: 'gateway-secret',
  projector: 'projector-secret',
  query: 'query-secret',
  operator: 'operator-secret',
  dashboards: 'dashboards-secret',
};
/** The server's side: nats/users.conf reads each password from NATS_<USER>_PASSWORD. */
const serverEnv = Object.fromEntries(Object.entries(PASSWORDS).map(([user, password]) => [`NATS_${user.toUpperCase()}_PASSWORD`, password]));
/** A program's side: its user and password. */
const as = (user: NatsUser) => ({ NATS_USER: user, NATS_PASSWORD: PASSWORDS[user] });

/** More events in one session than readSubject reads by direct gets (32): re-folding it takes a consumer. */
const MANY_EVENTS = 33;

/** Every permission violation the server logged (`… Publish Violation - User "dashboards", Subject "…"`). */
const violations = (logs: string) => logs.split('\n').filter((line) => /Violation/.test(line));

describe('NATS users: each program as its own user, with only the subjects it needs', () => {
  const files = PolicyFiles.create({
    version: '1',
    default: 'allow',
    // A limit, so the gateway counts calls in its KV bucket.
    all_tools: { limits: [{ counter: 'calls', window: 'minute', max: 1000, scope: 'agent' }] },
    tools: { record_session_finish: { require_approval: { timeout: '30s' } } },
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'mcp-pytest-nats-users-'));
  let nats: NatsServer;
  let env: Record<string, string>;
  let apps: App[] = [];
  let client: McpTestClient;
  let dashboards: NatsConnection;

  beforeAll(async () => {
    nats = await NatsServer.start({ file: join(root, 'nats/server-auth.conf'), env: serverEnv });
    env = { NATS_URL: nats.url, READ_MODEL_URL: `sqlite:${join(dataDir, 'read-models.sqlite')}`, POLICY_FILE: files.policy };
    apps = await Promise.all((['projector', 'query', 'gateway'] as const).map((name) => App.start(name, { ...env, ...as(name) })));
    client = await McpTestClient.http(apps[2]!.mcpUrl);
    dashboards = await connect({ servers: nats.url, user: 'dashboards', pass: PASSWORDS.dashboards, inboxPrefix: '_INBOX.dashboards' });
  });
  afterAll(async () => {
    await dashboards?.close();
    await client?.close();
    await Promise.all(apps.map((app) => app.stop()));
    await nats?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
    files.dispose();
  });

  const query = () => apps[1]!;
  const ask = async <T>(pattern: string, data: object, nc = dashboards): Promise<T> => {
    const answer = (await nc.request(pattern, JSON.stringify(data), { timeout: 5000 })).json<{ response?: T; err?: unknown }>();
    if (answer.err) throw new Error(`${pattern}: ${JSON.stringify(answer.err)}`);
    return answer.response as T;
  };

  /** A session the first test records, with MANY_EVENTS. */
  let recorded: string;

  it('records a session over MCP and reads it back, over MCP and the HTTP API', async () => {
    const { session_id } = await client.ok('record_session_start', { environment });
    recorded = session_id;
    await client.ok('record_test_outcome', { nodeid: 't.py::a', outcome: 'passed', duration: 0.1 });
    for (let i = 0; i < MANY_EVENTS; i++) await client.ok('record_test_outcome', { nodeid: `t.py::more${i}`, outcome: 'skipped', duration: 0 });
    const view = await eventually(async () => {
      const read = await client.ok('get_session', { session_id });
      return read.counts?.passed === 1 ? read : undefined;
    });
    expect(view).toMatchObject({ session_id, status: 'running' });
    const response = await fetch(new URL(`api/sessions/${session_id}`, query().httpUrl));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ session_id, counts: { passed: 1 } });
  });

  it('has the operator decide an approval with the CLI, and follow the audit with `audit tail`', async () => {
    const operator = { ...env, ...as('operator') };
    const tail = cliProcess(['audit', 'tail'], operator);
    try {
      await tail.waitFor(/following PYTEST_AUDIT/);
      const { session_id } = await client.ok('record_session_start', { environment });
      const call = client.callWithProgress('record_session_finish', { session_id, summary }, [] as Progress[]);
      const pending = await eventually(async () => {
        const listed = JSON.parse((await cliRun(['approvals', 'list', '--json'], { env: operator })).stdout) as { id: string }[];
        return listed[0];
      });
      expect(await cliRun(['approvals', 'approve', pending.id, '--by', 'alice'], { env: operator })).toMatchObject({ code: 0 });
      const result = await call;
      expect(result.isError, text(result)).toBeFalsy();
      await tail.waitFor(/record_session_finish/);
    } finally {
      await tail.stop('SIGINT');
    }
  });

  it('lets dashboards follow change notices and ask the query app', async () => {
    const notices = dashboards.subscribe('pytest.changes.>', { max: 1 });
    const { session_id } = await client.ok('record_session_start', { environment });
    for await (const notice of notices) expect(notice.subject).toBe(changeSubject({ owner: 'local', sessionId: session_id }));
    expect(await ask(QUERY_PATTERNS.getSession, { session_id, owner: 'local', min_seq: 1 })).toMatchObject({ session_id, status: 'running' });
    expect(await ask<{ sessions: unknown[] }>(QUERY_PATTERNS.listSessions, { owner: 'local' })).toMatchObject({
      sessions: expect.arrayContaining([expect.objectContaining({ session_id })]),
    });
  });

  it('refuses dashboards writing events, approval decisions, session views or partition leases, pulling a partition, or deleting a stream', async () => {
    const js = jetstream(dashboards);
    const views = await new Kvm(dashboards).open(SESSIONS_BUCKET, { bindOnly: true });
    const leases = await new Kvm(dashboards).open(PROJECTOR_LEASES_BUCKET, { bindOnly: true });
    const refused = [
      js.publish(eventSubject({ owner: 'local', sessionId: 'forged' }), '{}'),
      js.publish(approvalSubject('forged'), '{"type":"ApprovalDecided"}'),
      views.put('local.forged', '{}'),
      leases.put(`partition.${readModelGroup().durable(0)}`, 'dashboards'),
      dashboards.request(`$JS.API.CONSUMER.MSG.NEXT.${EVENTS_STREAM}.${readModelGroup().durable(0)}`, '{"batch":1}', { timeout: 5000 }),
      dashboards.request(`$JS.API.STREAM.DELETE.${EVENTS_STREAM}`, '', { timeout: 5000 }),
      dashboards.request(QUERY_PATTERNS.queryAudit, '{}', { timeout: 5000 }),
    ];
    for (const attempt of await Promise.allSettled(refused)) {
      expect(attempt.status).toBe('rejected');
      expect(String((attempt as PromiseRejectedResult).reason)).toMatch(/Permissions Violation for Publish to/);
    }
    // Subscribing beyond its subjects: to another user's replies.
    const snoop = dashboards.subscribe('_INBOX.gateway.>');
    await expect(snoop.closed).resolves.toBeInstanceOf(errors.PermissionViolationError);
  });

  it('serves the live feed from the change stream, and audit queries to the operator', async () => {
    const feed = await SseClient.open(new URL('api/events?last_event_id=0', query().httpUrl));
    try {
      expect((await feed.waitFor('change', 1))[0]!.data).toContain('"owner":"local"');
    } finally {
      await feed.close();
    }
    const operator = await connect({ servers: nats.url, user: 'operator', pass: PASSWORDS.operator, inboxPrefix: '_INBOX.operator' });
    try {
      const { records } = await ask<{ records: unknown[] }>(QUERY_PATTERNS.queryAudit, { tool: 'record_session_start' }, operator);
      expect(records.length).toBeGreaterThan(0);
    } finally {
      await operator.close();
    }
  });

  it('runs the rebuild and the refold as the projector user', async () => {
    await apps[0]!.stop();
    const projectorEnv = { ...env, ...as('projector') };
    const run = (entry: string, args: string[] = []) => Proc.spawn(entry, process.execPath, [distEntry(`apps/projector/src/${entry}`), ...args], projectorEnv);
    const rebuild = run('main.rebuild.js');
    expect(await rebuild.finished(60_000), rebuild.logs).toBe(0);
    for (const args of [['--stuck'], [`local/${recorded}`]]) {
      const refold = run('main.refold.js', args);
      expect(await refold.finished(60_000), refold.logs).toBe(0);
    }
  });

  it('asked nothing of the apps that their users may not do: every violation the server logged is the dashboards user’s', () => {
    const logged = violations(nats.logs);
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.filter((line) => !line.includes('User "dashboards"'))).toEqual([]);
  });

  it('stops an app whose password NATS refuses, saying so; the CLI too', async () => {
    const wrong = { ...env, NATS_USER: 'gateway', NATS_PASSWORD: 'not-the-password' };
    await expect(App.start('gateway', wrong)).rejects.toThrow(/NATS at nats:\/\/127\.0\.0\.1:\d+ refused the credentials \(Authorization Violation\)/);
    const run = await cliRun(['approvals', 'list'], { env: { ...wrong, NATS_USER: 'operator' } });
    expect(run).toMatchObject({ code: 1, stderr: expect.stringMatching(/refused the credentials/) });
  });
});
