import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_STREAM, auditSubject, type AuditQuery, type AuditQueryResult, type AuditRecord } from '#contracts';
import { App } from './harness/apps.js';
import { NatsProbe } from './harness/nats-probe.js';
import { NatsServer } from './harness/nats-server.js';
import { sleep } from './harness/processes.js';

type Reply = { response?: AuditQueryResult; err?: { code: string; message: string } };

let nats: NatsServer;
let query: App;
let probe: NatsProbe;

beforeAll(async () => {
  nats = await NatsServer.start();
  // The query app alone: it creates the audit stream; no gateway adds records of its own.
  query = await App.start('query', { NATS_URL: nats.url });
  probe = await NatsProbe.connect(nats.url);
});

afterAll(async () => {
  await probe?.close();
  await query?.stop();
  await nats?.dispose();
});

/** Appends a record as the gateway does: on its decision's and agent's subject, its id as Nats-Msg-Id. */
async function append(fields: Pick<AuditRecord, 'agent' | 'grant' | 'tool' | 'decision'> & Partial<AuditRecord>): Promise<AuditRecord> {
  const record: AuditRecord = { id: randomUUID(), at: new Date().toISOString(), via: 'http', arg_keys: [], latency_ms: 1, ...fields };
  await jetstream(probe.nc).publish(auditSubject(record.decision, record.agent), JSON.stringify([record]), { msgID: record.id });
  return record;
}

async function ask(request: AuditQuery | Record<string, unknown>): Promise<Reply> {
  return probe.request<Reply>('query-audit', request);
}

async function answer(request: AuditQuery): Promise<AuditQueryResult> {
  const reply = await ask(request);
  if (!reply.response) throw new Error(`query-audit failed: ${JSON.stringify(reply.err)}\n${query.proc.logs}`);
  return reply.response;
}

describe('query-audit', () => {
  it('answers nothing from an empty stream', async () => {
    expect(await answer({})).toEqual({ records: [], matched: 0 });
  });

  describe('over a few tool calls', () => {
    let calls: AuditRecord[];

    beforeAll(async () => {
      calls = [];
      for (const call of [
        { agent: 'alice', grant: 'ci', tool: 'record_session_start', decision: 'allowed' },
        { agent: 'bob', grant: 'ci', tool: 'record_test_outcome', decision: 'denied', rule: 'tools.record_test_outcome.deny_if[0]' },
        { agent: 'alice', grant: 'ci', tool: 'record_test_outcome', decision: 'allowed', outcome: 'ok', seq: 2 },
        { agent: 'carol', grant: 'dev', tool: 'get_session', decision: 'allowed', outcome: 'error', error_code: 'SESSION_NOT_FOUND' },
        { agent: 'alice', grant: 'ci', tool: 'record_session_finish', decision: 'denied', reason: 'limit' },
      ] as const) {
        calls.push(await append(call));
        await sleep(2); // distinct arrival times
      }
    });

    /** Which of `calls` an answer holds, by index. */
    const which = (result: AuditQueryResult) => result.records.map((r) => calls.findIndex((c) => c.id === r.id));

    it('answers every record of the last hour, oldest first, as stored', async () => {
      const all = await answer({});
      expect(all.records).toEqual(calls);
      expect(all.matched).toBe(5);
    });

    it('filters by agent, decision, grant and tool, alone and together', async () => {
      expect(which(await answer({ agent: 'alice' }))).toEqual([0, 2, 4]);
      expect(which(await answer({ decision: 'denied' }))).toEqual([1, 4]);
      expect(which(await answer({ tool: 'record_test_outcome' }))).toEqual([1, 2]);
      expect(which(await answer({ grant: 'dev' }))).toEqual([3]);
      expect(which(await answer({ agent: 'alice', decision: 'allowed' }))).toEqual([0, 2]);
      expect(which(await answer({ agent: 'alice', tool: 'record_test_outcome', decision: 'denied' }))).toEqual([]);
      expect(await answer({ agent: 'nobody' })).toEqual({ records: [], matched: 0 });
    });

    it('keeps the newest `limit` records and counts every match', async () => {
      expect(await answer({ limit: 2 })).toEqual({ records: [calls[3], calls[4]], matched: 5 });
      expect(await answer({ agent: 'alice', limit: 1 })).toEqual({ records: [calls[4]], matched: 3 });
    });

    it('answers the records between since and until, both included', async () => {
      expect(which(await answer({ since: calls[1]!.at, until: calls[3]!.at }))).toEqual([1, 2, 3]);
      expect(which(await answer({ since: calls[4]!.at }))).toEqual([4]);
      expect(which(await answer({ until: calls[0]!.at }))).toEqual([0]);
    });
  });

  it('looks at the last hour unless told otherwise, by when each call arrived', async () => {
    const old = await append({ agent: 'dave', grant: 'ci', tool: 'get_session', decision: 'allowed', at: new Date(Date.now() - 2 * 3_600_000).toISOString() });
    expect(await answer({ agent: 'dave' })).toEqual({ records: [], matched: 0 });
    const since = new Date(Date.now() - 3 * 3_600_000).toISOString();
    expect(await answer({ agent: 'dave', since })).toEqual({ records: [old], matched: 1 });
  });

  it('skips anything on an audit subject that is not an audit record', async () => {
    for (const junk of ['not json', '{"agent": "erin"}', '[]']) await jetstream(probe.nc).publish(auditSubject('allowed', 'erin'), junk);
    const record = await append({ agent: 'erin', grant: 'ci', tool: 'get_session', decision: 'allowed' });
    expect(await answer({ agent: 'erin' })).toEqual({ records: [record], matched: 1 });
  });

  it('names what is wrong in a bad request', async () => {
    expect((await ask({ limit: 0 })).err).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('limit') });
    expect((await ask({ limit: 1001 })).err).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('limit') });
    expect((await ask({ agent: 'a.b' })).err).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('agent') });
    expect((await ask({ decision: 'maybe' })).err).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('decision') });
    expect((await ask({ since: 'yesterday' })).err).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('since') });
    expect((await ask({ colour: 'red' })).err).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('colour') });
    const until = new Date(Date.now() - 2 * 3_600_000).toISOString();
    expect((await ask({ until })).err).toEqual({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/^invalid request: since \S+ \(one hour ago\) is after until /),
    });
  });

  it('leaves no consumer behind on the audit stream', async () => {
    await answer({ agent: 'alice' });
    const jsm = await jetstreamManager(probe.nc);
    expect((await jsm.streams.info(AUDIT_STREAM)).state.consumer_count).toBe(0);
  });
});
