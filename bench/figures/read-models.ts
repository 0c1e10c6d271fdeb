// Figure 8 of `npm run bench`: the cross-session read models at scale. A backlog of finished
// sessions, each with the same suite of tests (some flaky, some failing with one cause), is
// published while the apps run; the projector folds it into the views and the SQL read models;
// then the cross-session reads are timed over NATS request/reply beside a raw responder.
import { statSync } from 'node:fs';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { EVENTS_STREAM, eventSubject, QUERY_PATTERNS, SESSION_PROJECTOR_DURABLE, type PytestEvent, type TestResult } from '#contracts';
import { distEntry } from '../../test/harness/apps.js';
import { eventually, Proc } from '../../test/harness/processes.js';
import { BACKLOG_OWNER, backlogEnvelope, publishAll, type BacklogMessage } from '../lib/backlog.js';
import { cpuMicros, rssKiB } from '../lib/proc-stats.js';
import { Latencies } from '../lib/stats.js';

export const READS_PROJECT = 'bench-reads';

export interface ReadModelsScale {
  sessions: number;
  testsPerSession: number;
  resultsPerEvent: number;
  /** Requests timed per read. */
  requests: number;
}

interface NestReply<T> {
  response?: T;
  err?: unknown;
}

const nodeid = (t: number) => `tests/test_module_${t % 40}.py::test_case_${t}`;

/**
 * Test `t` of session `s` (oldest first): every 50th test flips between passed and failed from
 * session to session, every 500th fails with one cause whose numbers vary, the rest pass; durations
 * grow slowly with the sessions.
 */
function result(s: number, t: number, sessions: number): TestResult {
  const duration = 0.001 * (1 + (t % 100)) * (1 + s / sessions);
  if (t % 500 === 7) {
    return { nodeid: nodeid(t), when: 'call', attempt: 1, outcome: 'failed', duration, error: `ConnectionError: port ${4000 + s} refused after ${t} ms` };
  }
  if (t % 50 === 0 && (s + t / 50) % 3 === 0) {
    return { nodeid: nodeid(t), when: 'call', attempt: 1, outcome: 'failed', duration, error: `AssertionError: assert ${s} == ${t}` };
  }
  return { nodeid: nodeid(t), when: 'call', attempt: 1, outcome: 'passed', duration };
}

/** One session's events: started, its results in events of `resultsPerEvent`, finished. */
function sessionEvents(s: number, scale: ReadModelsScale, at: string): PytestEvent[] {
  const sessionId = `reads-${String(s).padStart(5, '0')}`;
  let version = 1;
  const events: PytestEvent[] = [
    {
      type: 'SessionStarted',
      ...backlogEnvelope(sessionId, version++, at),
      data: { environment: { os: 'Linux', python_version: '3.12.3' }, project: READS_PROJECT, ci: { branch: 'main', url: `https://ci.invalid/${s}` } },
    },
  ];
  let failed = 0;
  for (let first = 0; first < scale.testsPerSession; first += scale.resultsPerEvent) {
    const results = Array.from({ length: Math.min(scale.resultsPerEvent, scale.testsPerSession - first) }, (_, i) => result(s, first + i, scale.sessions));
    failed += results.filter((r) => r.outcome === 'failed').length;
    events.push({ type: 'TestOutcomesRecorded', ...backlogEnvelope(sessionId, version++, at), data: { results } });
  }
  const total = scale.testsPerSession;
  events.push({
    type: 'SessionFinished',
    ...backlogEnvelope(sessionId, version, at),
    data: { summary: { total_tests: total, passed: total - failed, failed, skipped: 0, exitstatus: failed ? 1 : 0 } },
  });
  return events;
}

export interface ReadModelsFigures {
  results: number;
  events: number;
  foldSeconds: number;
  projectorCpuPerResult: number;
  storeBytes: number;
  rss: { stage: string; projector: number; query: number }[];
  /** RSS (KiB) sampled every 2 s while folding, with the share of the events folded by then. */
  whileFolding: { folded: number; projector: number; query: number }[];
  list: Latencies;
  history: Latencies;
  flaky: Latencies;
  raw: Latencies;
  replyBytes: { list: number; history: number; flaky: number };
}

/**
 * Publishes the sessions (100 interleaved at a time, as concurrent CI runs would be), waits for the
 * projector to fold them, then times list-sessions pages (cursors across the whole list),
 * get-test-history of random tests and get-flaky-tests over the last 30 sessions.
 */
export async function readModelsAtScale(
  io: {
    nc: NatsConnection;
    js: JetStreamClient;
    jsm: JetStreamManager;
    natsUrl: string;
    projectorPid: () => number;
    queryPid: () => number;
    storePath: string;
  },
  scale: ReadModelsScale,
  progress: (line: string) => void,
): Promise<ReadModelsFigures> {
  const { nc, js, jsm } = io;
  const rss: ReadModelsFigures['rss'] = [];
  const sampleRss = (stage: string) => rss.push({ stage, projector: rssKiB(io.projectorPid()), query: rssKiB(io.queryPid()) });
  sampleRss('before the sessions');

  const at = new Date().toISOString();
  const concurrent = 100;
  let events = 0;
  let lastSeq = 0;
  const cpuBefore = cpuMicros(io.projectorPid());
  const t0 = performance.now();
  // RSS while the results pile up: flat means bounded by a batch, not by what is stored.
  const firstSeq = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq + 1;
  const expectedEvents = scale.sessions * (2 + Math.ceil(scale.testsPerSession / scale.resultsPerEvent));
  const whileFolding: ReadModelsFigures['whileFolding'] = [];
  const sampler = setInterval(() => {
    void jsm.consumers.info(EVENTS_STREAM, SESSION_PROJECTOR_DURABLE).then(
      ({ ack_floor }) => {
        const folded = Math.max(0, ack_floor.stream_seq - firstSeq + 1) / expectedEvents;
        whileFolding.push({ folded, projector: rssKiB(io.projectorPid()), query: rssKiB(io.queryPid()) });
      },
      () => undefined,
    );
  }, 2000);
  for (let group = 0; group < scale.sessions; group += concurrent) {
    const perSession = Array.from({ length: Math.min(concurrent, scale.sessions - group) }, (_, i) => sessionEvents(group + i, scale, at));
    const messages: BacklogMessage[] = [];
    for (let version = 0; version < perSession[0]!.length; version++) {
      for (const sessionEvents of perSession) {
        const event = sessionEvents[version]!;
        messages.push({ subject: eventSubject({ owner: BACKLOG_OWNER, sessionId: event.sessionId }), data: JSON.stringify(event), msgID: event.id });
      }
    }
    events += messages.length;
    lastSeq = await publishAll(js, messages, 256, true);
    if (group % 500 === 0) progress(`read models: published ${group + perSession.length} of ${scale.sessions} sessions`);
  }
  await eventually(
    async () => (await jsm.consumers.info(EVENTS_STREAM, SESSION_PROJECTOR_DURABLE)).ack_floor.stream_seq >= lastSeq,
    1_800_000,
    'the projector to fold the read-model sessions',
  ).finally(() => clearInterval(sampler));
  const foldSeconds = (performance.now() - t0) / 1000;
  const results = scale.sessions * scale.testsPerSession;
  const projectorCpuPerResult = (cpuMicros(io.projectorPid()) - cpuBefore) / results;
  sampleRss('after folding them');

  const ask = async <T>(pattern: string, body: object): Promise<{ answer: T; bytes: number }> => {
    const reply = await nc.request(pattern, JSON.stringify(body), { timeout: 10_000 });
    const parsed = reply.json<NestReply<T>>();
    if (parsed.response === undefined) throw new Error(`${pattern} answered ${JSON.stringify(parsed.err ?? parsed)}`);
    return { answer: parsed.response, bytes: reply.data.length };
  };

  // Every page's cursor, once: the timed requests then read pages all along the list.
  const cursors: (string | undefined)[] = [undefined];
  for (;;) {
    const { answer } = await ask<{ next_cursor: string | null }>(QUERY_PATTERNS.listSessions, {
      owner: BACKLOG_OWNER,
      project: READS_PROJECT,
      limit: 20,
      cursor: cursors.at(-1),
    });
    if (!answer.next_cursor) break;
    cursors.push(answer.next_cursor);
  }
  const timed = async (requests: number, request: (i: number) => Promise<number>) => {
    const latencies = new Latencies();
    let bytes = 0;
    for (let i = 0; i < Math.min(20, requests); i++) bytes = await request(i);
    for (let i = 0; i < requests; i++) {
      const t = performance.now();
      bytes = await request(i);
      latencies.add(performance.now() - t);
    }
    return { latencies, bytes };
  };
  const random = (n: number) => Math.floor(Math.random() * n);
  const list = await timed(scale.requests, async (i) => {
    const cursor = cursors[i % cursors.length];
    return (await ask(QUERY_PATTERNS.listSessions, { owner: BACKLOG_OWNER, project: READS_PROJECT, limit: 20, ...(cursor ? { cursor } : {}) })).bytes;
  });
  const history = await timed(scale.requests, async () => {
    return (
      await ask(QUERY_PATTERNS.getTestHistory, { owner: BACKLOG_OWNER, project: READS_PROJECT, nodeid: nodeid(random(scale.testsPerSession)), limit: 30 })
    ).bytes;
  });
  const flakyAnswer = await ask<{ sessions: number; tests: unknown[] }>(QUERY_PATTERNS.getFlakyTests, {
    owner: BACKLOG_OWNER,
    project: READS_PROJECT,
    window: 30,
  });
  if (flakyAnswer.answer.sessions !== Math.min(30, scale.sessions) || flakyAnswer.answer.tests.length === 0) {
    throw new Error(`get-flaky-tests over the backlog: ${flakyAnswer.answer.sessions} sessions, ${flakyAnswer.answer.tests.length} flaky tests`);
  }
  const flaky = await timed(Math.ceil(scale.requests / 5), async () => {
    return (await ask(QUERY_PATTERNS.getFlakyTests, { owner: BACKLOG_OWNER, project: READS_PROJECT, window: 30 })).bytes;
  });
  sampleRss('after the reads');

  // The reference: a trivial responder in its own process, replying with a list page's size.
  const responder = Proc.spawn('raw-responder-reads', process.execPath, [distEntry('bench/raw-responder.js')], {
    NATS_URL: io.natsUrl,
    RESPONDER_SUBJECT: 'bench.reads.echo',
    RESPONDER_BYTES: String(list.bytes),
  });
  try {
    await responder.waitFor(/ready/);
    const raw = await timed(scale.requests, async () => (await nc.request('bench.reads.echo', '{}', { timeout: 5000 })).data.length);
    return {
      results,
      events,
      foldSeconds,
      projectorCpuPerResult,
      storeBytes: storeSize(io.storePath),
      rss,
      whileFolding,
      list: list.latencies,
      history: history.latencies,
      flaky: flaky.latencies,
      raw: raw.latencies,
      replyBytes: { list: list.bytes, history: history.bytes, flaky: flaky.bytes },
    };
  } finally {
    await responder.stop();
  }
}

/** Bytes of the SQLite file with its write-ahead log. */
function storeSize(path: string): number {
  const size = (file: string) => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };
  return size(path) + size(`${path}-wal`);
}
