import { describe, expect, it } from 'vitest';
import { changeSubject } from '#contracts';
import { useSystem } from './harness/use-system.js';

const suite = useSystem();

type Reply = { id: string; response?: Record<string, any>; err?: { code: string; message: string }; isDisposed: boolean };

describe('the query app over NATS request/reply', () => {
  it('answers get-session to a plain JSON request and to a Nest packet', async () => {
    const { session_id, seq } = await suite.client.ok('record_session_start', { environment: { os: 'Linux', python_version: '3.13.1' } });
    const plain = await suite.system.probe.request<Reply>('get-session', { session_id, owner: 'local', min_seq: seq });
    expect(plain.response).toMatchObject({ session_id, status: 'running', last_seq: seq });
    const packet = await suite.system.probe.request<Reply>('get-session', { id: 'req-1', pattern: 'get-session', data: { session_id, owner: 'local' } });
    expect(packet).toMatchObject({ id: 'req-1', response: { session_id }, isDisposed: true });
  });

  it('says not found at once for an unknown session, and names what is wrong in a bad request', async () => {
    const unknown = await suite.system.probe.request<Reply>('get-session', { session_id: 'no-such-session', owner: 'local' }, 2000);
    expect(unknown.err).toEqual({ code: 'SESSION_NOT_FOUND', message: 'Grant "local" has no session "no-such-session".' });
    const bad = await suite.system.probe.request<Reply>('get-session', { session_id: 'a b', owner: 'local' }, 2000);
    expect(bad.err).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('session_id') });
    const noBody = await suite.system.probe.request<Reply>('get-session', 'not an object', 2000);
    expect(noBody.err).toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('publishes a change notice for every update of a session view', async () => {
    const { session_id } = await suite.client.ok('record_session_start', { environment: { os: 'Linux', python_version: '3.13.1' } });
    const notices = suite.system.probe.nc.subscribe(changeSubject({ owner: 'local', sessionId: session_id }));
    const seen: Array<Record<string, any>> = [];
    const done = (async () => {
      for await (const msg of notices) {
        seen.push(msg.json());
        if (seen.at(-1)!.status === 'finished') break;
      }
    })();
    await suite.client.ok('record_test_outcome', { nodeid: 't::a', outcome: 'passed', duration: 0.1 });
    await suite.client.ok('record_test_outcome', { nodeid: 't::b', outcome: 'failed', duration: 0.1 });
    const finish = await suite.client.ok('record_session_finish', { summary: { total_tests: 2, passed: 1, failed: 1, skipped: 0, exitstatus: 1 } });
    await done;
    expect(seen.at(-1)).toEqual({
      session_id,
      owner: 'local',
      status: 'finished',
      project: null,
      last_seq: finish.seq,
      version: 4,
      counts: { passed: 1, failed: 1, skipped: 0, error: 0, xfailed: 0, xpassed: 0, total: 2 },
    });
    expect(seen.map((n) => n.last_seq)).toEqual([...seen.map((n) => n.last_seq)].sort((x, y) => x - y));
  });
});

describe('the query app against a noisy bus', () => {
  it('keeps answering after garbage is published on the change-notice subjects', async () => {
    const { session_id, seq } = await suite.client.ok('record_session_start', { environment: { os: 'Linux', python_version: '3.13.1' } });
    for (const junk of ['not json', '{"session_id": 7}', '[]']) suite.system.probe.nc.publish(`pytest.changes.session.local.${session_id}`, junk);
    await suite.system.probe.nc.flush();
    const reply = await suite.system.probe.request<Reply>('get-session', { session_id, owner: 'local', min_seq: seq }, 3000);
    expect(reply.response).toMatchObject({ session_id, last_seq: seq });
    expect(suite.system.query.proc.logs).not.toMatch(/reader closed/);
  });

  it('says the read model is behind, rather than answering an older view, when the projector is down', async () => {
    await suite.system.projector.stop();
    try {
      const { session_id, seq } = await suite.client.ok('record_session_start', { environment: { os: 'Linux', python_version: '3.13.1' } });
      expect(await suite.client.refused('get_session', { session_id })).toMatch(
        new RegExp(`^\\[READ_MODEL_BEHIND\\] Session "${session_id}" is not in the read models, not yet at ${seq}`),
      );
    } finally {
      await suite.system.projector.restart();
    }
  });
});
