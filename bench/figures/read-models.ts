// Figure 8: the cross-session read models at scale. A backlog of finished sessions, each with the
// same suite of tests (some flaky, some failing with one cause), is published while the apps run; the
// projector folds it into the views and the SQL read models; then the cross-session reads are timed
// over NATS request/reply beside a raw responder.
import { statSync } from 'node:fs';
import { EVENTS_STREAM, eventSubject, QUERY_PATTERNS, type PytestEvent, type TestResult } from '#contracts';
import { projectorConsumers, projectorFoldedThrough } from '#nats';
import { eventually } from '../../test/harness/processes.js';
import { BACKLOG_OWNER, backlogEnvelope, publishAll, type BacklogMessage } from '../lib/backlog.js';
import { cfg } from '../lib/config.js';
import { cpuMicros, rssKiB } from '../lib/proc-stats.js';
import type { Report } from '../lib/report.js';
import { nestResponse, rawRoundTrips, timeRequests } from '../lib/requests.js';
import { checkFailed, out, progress, step } from '../lib/run.js';
import { fmtMiB, fmtMs, fmtRate, fmtUs, type Latencies } from '../lib/stats.js';
import type { System } from '../lib/system.js';

const READS_PROJECT = 'bench-reads';

type ReadModelsScale = typeof cfg.reads;

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

export interface ReadModels {
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

export async function readModelsFigure(sys: System): Promise<ReadModels> {
  const scale = cfg.reads;
  out(
    `8. Cross-session reads: ${scale.sessions.toLocaleString('en-US')} finished sessions × ${scale.testsPerSession.toLocaleString('en-US')} tests, ${scale.resultsPerEvent} results per event, folded into the views and the SQL read models (SQLite)`,
  );
  const reads = await step('read models at scale', () => readModelsAtScale(sys, scale));
  out(
    `  folded ${reads.results.toLocaleString('en-US')} results (${reads.events.toLocaleString('en-US')} events) in ${reads.foldSeconds.toFixed(1)} s from the first publish → ` +
      `${fmtRate(reads.results / reads.foldSeconds, 'results/s')}; projector CPU ${fmtUs(reads.projectorCpuPerResult)}/result; SQLite file ${(reads.storeBytes / 1024 / 1024).toFixed(0)} MiB`,
  );
  for (const [label, latencies, bytes] of [
    [`list-sessions page (20 of project ${READS_PROJECT})`, reads.list, reads.replyBytes.list],
    ['get-test-history (30 runs)', reads.history, reads.replyBytes.history],
    ['get-flaky-tests (window 30)', reads.flaky, reads.replyBytes.flaky],
    ['raw request/reply (reference)', reads.raw, reads.replyBytes.list],
  ] as const) {
    out(
      `  ${label.padEnd(44)} p50 ${fmtMs(latencies.p50).padStart(8)}   p99 ${fmtMs(latencies.p99).padStart(8)}   (${latencies.count} requests, reply ${bytes} B)`,
    );
  }
  for (const row of reads.rss) out(`  RSS ${row.stage.padEnd(24)} projector ${fmtMiB(row.projector)}, query ${fmtMiB(row.query)}`);
  out(
    `  RSS while folding (share folded: projector / query MiB): ${reads.whileFolding.map((s) => `${Math.round(s.folded * 100)}% ${Math.round(s.projector / 1024)}/${Math.round(s.query / 1024)}`).join(', ')}`,
  );
  out();
  return reads;
}

export function readModelsRows(report: Report, reads: ReadModels): void {
  const readTarget = (figure: string, latencies: Latencies, boundMs: number) => {
    const met = latencies.p99 <= boundMs;
    if (!met) checkFailed(`${figure}: p99 ${fmtMs(latencies.p99)} > ${boundMs} ms`);
    report.add({
      figure,
      value: fmtMs(latencies.p99),
      reference: `${fmtMs(reads.raw.p99)} (raw req/reply p99)`,
      ratio: `${(latencies.p99 / reads.raw.p99).toFixed(2)}×`,
      target: `≤ ${boundMs} ms`,
      met: met ? 'yes' : 'NO',
    });
  };
  report.add({
    figure: `8 fold of ${reads.results.toLocaleString('en-US')} results (views + SQL), results/s`,
    value: fmtRate(reads.results / reads.foldSeconds, '/s'),
    reference: `${fmtUs(reads.projectorCpuPerResult)} projector CPU/result`,
  });
  readTarget('8 list_sessions page, p99', reads.list, 20);
  readTarget('8 get_test_history, p99', reads.history, 20);
  readTarget('8 get_flaky_tests (window 30), p99', reads.flaky, 200);
  const [beforeReads, , afterReads] = reads.rss;
  report.add({
    figure: '8 projector / query RSS, before folding → after the reads',
    value: `${fmtMiB(beforeReads!.projector)} → ${fmtMiB(afterReads!.projector)} / ${fmtMiB(beforeReads!.query)} → ${fmtMiB(afterReads!.query)}`,
    target: '—',
  });
  // Flat: the second half of the results adds little beyond what the first half's peak took.
  const peak = (from: number, to: number) => Math.max(0, ...reads.whileFolding.filter((s) => s.folded >= from && s.folded < to).map((s) => s.projector));
  const [firstHalf, secondHalf] = [peak(0, 0.5), peak(0.5, 1.01)];
  const flat = firstHalf > 0 && secondHalf <= firstHalf * 1.1;
  if (!flat)
    checkFailed(`projector RSS not flat while folding: peak ${fmtMiB(firstHalf)} over the first half of the results, ${fmtMiB(secondHalf)} over the second`);
  report.add({
    figure: '8 projector RSS peak, first half → second half of the results',
    value: `${fmtMiB(firstHalf)} → ${fmtMiB(secondHalf)}`,
    reference: `${fmtMiB(beforeReads!.projector)} before`,
    target: 'flat (≤ +10 %)',
    met: flat ? 'yes' : 'NO',
  });
}

export const readModelsNote = (): string =>
  `- Cross-session reads: ${cfg.reads.sessions.toLocaleString('en-US')} finished sessions × ${cfg.reads.testsPerSession.toLocaleString('en-US')} tests published raw (100 sessions interleaved at a time, ${cfg.reads.resultsPerEvent} results per event) and folded into the views and the SQLite read models; then ${cfg.reads.requests} sequential requests of list-sessions (pages all along the list), get-test-history (random tests) and a fifth as many get-flaky-tests (window 30) over NATS request/reply. Reference: a trivial responder in its own process with a reply of a list page's size. RSS of the projector and the query app before and after the fold.`;

/**
 * Publishes the sessions (100 interleaved at a time, as concurrent CI runs would be), waits for the
 * projector to fold them, then times list-sessions pages (cursors across the whole list),
 * get-test-history of random tests and get-flaky-tests over the last 30 sessions.
 */
async function readModelsAtScale(sys: System, scale: ReadModelsScale): Promise<ReadModels> {
  const { nc, js, jsm } = sys;
  const projectorPid = () => sys.apps.projector.pid;
  const queryPid = () => sys.apps.query.pid;
  const rss: ReadModels['rss'] = [];
  const sampleRss = (stage: string) => rss.push({ stage, projector: rssKiB(projectorPid()), query: rssKiB(queryPid()) });
  sampleRss('before the sessions');

  const at = new Date().toISOString();
  const concurrent = 100;
  let events = 0;
  let lastSeq = 0;
  const cpuBefore = cpuMicros(projectorPid());
  const t0 = performance.now();
  // RSS while the results pile up: flat means bounded by a batch, not by what is stored.
  const firstSeq = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq + 1;
  const expectedEvents = scale.sessions * (2 + Math.ceil(scale.testsPerSession / scale.resultsPerEvent));
  const whileFolding: ReadModels['whileFolding'] = [];
  const sampler = setInterval(() => {
    void projectorConsumers(jsm).then(
      (consumers) => {
        // Published so far, less what the partitions' consumers have yet to hand out or to see acked.
        const unfolded = consumers.reduce((sum, info) => sum + info.num_pending + info.num_ack_pending, 0);
        const folded = Math.max(0, lastSeq - firstSeq + 1 - unfolded) / expectedEvents;
        whileFolding.push({ folded, projector: rssKiB(projectorPid()), query: rssKiB(queryPid()) });
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
  await eventually(() => projectorFoldedThrough(jsm, lastSeq), 1_800_000, 'the projector to fold the read-model sessions').finally(() =>
    clearInterval(sampler),
  );
  const foldSeconds = (performance.now() - t0) / 1000;
  const results = scale.sessions * scale.testsPerSession;
  const projectorCpuPerResult = (cpuMicros(projectorPid()) - cpuBefore) / results;
  sampleRss('after folding them');

  const ask = <T>(pattern: string, body: object) => nestResponse<T>(nc, pattern, body);

  // Every page's cursor, once: the timed requests then read pages all along the list.
  const cursors: (string | undefined)[] = [undefined];
  for (;;) {
    const { response } = await ask<{ next_cursor: string | null }>(QUERY_PATTERNS.listSessions, {
      owner: BACKLOG_OWNER,
      project: READS_PROJECT,
      limit: 20,
      cursor: cursors.at(-1),
    });
    if (!response.next_cursor) break;
    cursors.push(response.next_cursor);
  }
  /** `requests` timed after a few untimed; the size of the last reply. */
  const timed = async (requests: number, request: (i: number) => Promise<{ bytes: number }>) => {
    let bytes = 0;
    const latencies = await timeRequests(
      requests,
      async (i) => {
        bytes = (await request(i)).bytes;
      },
      Math.min(20, requests),
    );
    return { latencies, bytes };
  };
  const random = (n: number) => Math.floor(Math.random() * n);
  const list = await timed(scale.requests, (i) => {
    const cursor = cursors[i % cursors.length];
    return ask(QUERY_PATTERNS.listSessions, { owner: BACKLOG_OWNER, project: READS_PROJECT, limit: 20, ...(cursor ? { cursor } : {}) });
  });
  const history = await timed(scale.requests, () =>
    ask(QUERY_PATTERNS.getTestHistory, { owner: BACKLOG_OWNER, project: READS_PROJECT, nodeid: nodeid(random(scale.testsPerSession)), limit: 30 }),
  );
  const flakyBody = { owner: BACKLOG_OWNER, project: READS_PROJECT, window: 30 };
  const { response: flakyAnswer } = await ask<{ sessions: number; tests: unknown[] }>(QUERY_PATTERNS.getFlakyTests, flakyBody);
  if (flakyAnswer.sessions !== Math.min(30, scale.sessions) || flakyAnswer.tests.length === 0) {
    throw new Error(`get-flaky-tests over the backlog: ${flakyAnswer.sessions} sessions, ${flakyAnswer.tests.length} flaky tests`);
  }
  const flaky = await timed(Math.ceil(scale.requests / 5), () => ask(QUERY_PATTERNS.getFlakyTests, flakyBody));
  sampleRss('after the reads');

  // The reference replies with a list page's size.
  const raw = await rawRoundTrips(sys, {
    name: 'raw-responder-reads',
    bytes: list.bytes,
    count: scale.requests,
    warmup: Math.min(20, scale.requests),
    body: () => '{}',
  });
  return {
    results,
    events,
    foldSeconds,
    projectorCpuPerResult,
    storeBytes: storeSize(sys.storePath),
    rss,
    whileFolding,
    list: list.latencies,
    history: history.latencies,
    flaky: flaky.latencies,
    raw,
    replyBytes: { list: list.bytes, history: history.bytes, flaky: flaky.bytes },
  };
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
