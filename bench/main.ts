// `npm run bench`: the system's speed beside references measured in the same run, on this machine.
// Starts its own nats-server and apps, stops them at the end (also on failure or Ctrl-C), prints a
// table, and writes it as markdown to bench/results.md. Knobs: the BENCH_* variables in `cfg` below.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { EVENTS_STREAM, LIMITS, QUERY_PATTERNS, SESSION_PROJECTOR_DURABLE, SESSIONS_BUCKET, sessionKey, type SessionView } from '#contracts';
import { NatsServer } from '../test/harness/nats-server.js';
import { eventually, freePort, Proc, sleep } from '../test/harness/processes.js';
import { App, distEntry, root } from '../test/harness/apps.js';
import { batchIngest, rawPublishInFlight } from './figures/batch-ingest.js';
import { writeToFeed } from './figures/live-feed.js';
import { readModelsAtScale, READS_PROJECT } from './figures/read-models.js';
import { generateJUnit, generateSuite, importJUnit, interleavedRuns, pytestVersion, runPytest } from './figures/pytest-suite.js';
import { BACKLOG_OWNER, backlogEvent, buildBacklog, publishAll } from './lib/backlog.js';
import { callOk, closeHttpClient, httpClient, runLoad, stdioClient, type HttpMcpClient, type LoadResult } from './lib/load.js';
import { childPids, CLK_TCK, cpuMicros, cpuModel, CpuWindow, natsServerVersion, rssKiB } from './lib/proc-stats.js';
import { Report } from './lib/report.js';
import { fmtMiB, fmtMs, fmtRate, fmtUs, Latencies } from './lib/stats.js';

const num = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const cfg = {
  clients: num('BENCH_CLIENTS', 32),
  warmupMs: num('BENCH_WARMUP_SECONDS', 2) * 1000,
  measureMs: num('BENCH_SECONDS', 10) * 1000,
  rawPublishMs: num('BENCH_RAW_PUBLISH_SECONDS', 3) * 1000,
  backlogSessions: num('BENCH_BACKLOG_SESSIONS', 1000),
  backlogPerSession: num('BENCH_BACKLOG_EVENTS_PER_SESSION', 100),
  backlogConcurrent: num('BENCH_BACKLOG_CONCURRENT_SESSIONS', 100),
  rttRequests: num('BENCH_RTT_REQUESTS', 5000),
  visibleWrites: num('BENCH_VISIBLE_WRITES', 500),
  batchClients: num('BENCH_BATCH_CLIENTS', 8),
  suiteTests: num('BENCH_SUITE_TESTS', 5000),
  suiteRounds: num('BENCH_SUITE_ROUNDS', 5),
  junitCases: num('BENCH_JUNIT_CASES', 50_000),
  reads: {
    sessions: num('BENCH_READS_SESSIONS', 1000),
    testsPerSession: num('BENCH_READS_TESTS', 2000),
    resultsPerEvent: num('BENCH_READS_RESULTS_PER_EVENT', 100),
    requests: num('BENCH_READS_REQUESTS', 500),
  },
};

type Json = Record<string, any>;
interface NestReply<T> {
  id?: string;
  response?: T;
  err?: { code?: string; message?: string } | string;
  isDisposed?: boolean;
}

const out = (line = '') => process.stdout.write(`${line}\n`);
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

// ---------------------------------------------------------------------------------------------
// Process bookkeeping: everything started is stopped in reverse order, whatever happens.

const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
const onCleanup = (name: string, run: () => Promise<unknown>) => cleanups.push({ name, run });
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const { name, run } of cleanups.reverse()) {
      try {
        await Promise.race([run(), sleep(15_000).then(() => Promise.reject(new Error('timed out')))]);
      } catch (error) {
        progress(`cleanup of ${name} failed: ${(error as Error).message}`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping everything the benchmark started`);
    void cleanup().then(() => process.exit(130));
  });
}

let currentStep = 'setup';
async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  currentStep = name;
  progress(name);
  return run();
}

// ---------------------------------------------------------------------------------------------

const report = new Report();
const failures: string[] = [];
const apps: { gateway?: App; projector?: App; query?: App } = {};
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let natsPid: number | undefined;
let env: Record<string, string>;
const rssRows: { stage: string; gateway: number; projector: number; query: number; events: number }[] = [];

const outcomeArgs = (nodeid: string) => ({ nodeid, outcome: 'passed', duration: 0.001 });
const START_ARGS = { environment: { os: 'Linux', python_version: '3.12.3' }, project: 'bench' };

async function getSession(body: Json, timeout = 10_000): Promise<NestReply<SessionView>> {
  const reply = await nc.request(QUERY_PATTERNS.getSession, JSON.stringify(body), { timeout });
  return reply.json<NestReply<SessionView>>();
}

async function streamLastSeq(): Promise<number> {
  return (await jsm.streams.info(EVENTS_STREAM)).state.last_seq;
}

/** Messages in the event stream and view writes (KV puts) so far: to tell how many results an event holds and how often views are written. */
async function storeCounters(): Promise<{ events: number; viewWrites: number }> {
  const kv = await jsm.streams.info(`KV_${SESSIONS_BUCKET}`).catch(() => undefined);
  return { events: await streamLastSeq(), viewWrites: kv?.state.last_seq ?? 0 };
}

function describeStore(before: { events: number; viewWrites: number }, after: { events: number; viewWrites: number }, results: number): void {
  const events = after.events - before.events;
  const writes = after.viewWrites - before.viewWrites;
  out(
    `  store: ${events.toLocaleString('en-US')} events for ${results.toLocaleString('en-US')} acknowledged calls (${(results / events).toFixed(1)} results per event, group commit); ` +
      `${writes.toLocaleString('en-US')} view writes (${(events / writes).toFixed(1)} events folded per view write)`,
  );
}

async function recordRss(stage: string): Promise<void> {
  const rss = (app?: App) => {
    try {
      return app ? rssKiB(app.pid) : Number.NaN;
    } catch {
      return Number.NaN;
    }
  };
  rssRows.push({ stage, gateway: rss(apps.gateway), projector: rss(apps.projector), query: rss(apps.query), events: await streamLastSeq() });
}

function describeLoad(label: string, res: LoadResult, server: string): void {
  const perCall = (name: string) => fmtUs(res.cpu.micros[name]! / res.calls);
  const others = Object.keys(res.cpu.micros)
    .filter((k) => k !== server)
    .map((k) => `${k} ${perCall(k)}`)
    .join(', ');
  out(
    `  ${label.padEnd(34)} ${fmtRate(res.rate, 'calls/s').padStart(14)}   p50 ${fmtMs(res.latency.p50).padStart(8)}   p99 ${fmtMs(res.latency.p99).padStart(8)}   ` +
      `server CPU ${perCall(server)}/call`,
  );
  out(
    `  ${''.padEnd(34)} (${res.calls} calls in ${res.seconds.toFixed(1)} s; CPU per call elsewhere: ${others}; machine busy ${(res.cpu.machineBusy * 100).toFixed(0)}%)`,
  );
  if (res.errors.length) {
    out(`  !!! ${res.errors.length} FAILED CALLS in ${label}; first: ${res.errors[0]}`);
    failures.push(`${label}: ${res.errors.length} calls failed (${res.errors[0]})`);
  }
}

const serverCpu = (res: LoadResult, server: string) => res.cpu.micros[server]! / res.calls;

/** Waits until each session's view holds its last acknowledged write, then compares counts.total with the acks. */
async function verifyStored(label: string, sessions: { id: string; acked: number; lastSeq: number }[]): Promise<boolean> {
  let acked = 0;
  let stored = 0;
  const wrong: string[] = [];
  for (const session of sessions) {
    acked += session.acked;
    const view = await eventually(
      async () => {
        const reply = await getSession({ session_id: session.id, owner: BACKLOG_OWNER, min_seq: session.lastSeq });
        return reply.response && reply.response.last_seq >= session.lastSeq ? reply.response : undefined;
      },
      120_000,
      `the view of ${session.id} to reach sequence ${session.lastSeq}`,
    );
    stored += view.counts.total;
    if (view.counts.total !== session.acked || view.counts.passed !== session.acked) {
      wrong.push(`${session.id}: ${session.acked} acknowledged, counts.total ${view.counts.total}, passed ${view.counts.passed}`);
    }
  }
  if (wrong.length === 0) {
    out(
      `  verified: ${acked.toLocaleString('en-US')} acknowledged outcomes = ${stored.toLocaleString('en-US')} stored (get-session counts.total over ${sessions.length} session(s))`,
    );
    return true;
  }
  out(`  !!! NOT VERIFIED (${label}): ${acked} acknowledged, ${stored} stored — WRITES LOST OR COUNTED TWICE:`);
  for (const w of wrong.slice(0, 10)) out(`  !!!   ${w}`);
  failures.push(`${label}: stored results differ from acknowledged writes (${acked} acked, ${stored} stored)`);
  return false;
}

// ---------------------------------------------------------------------------------------------
// 1c. Raw JetStream publish, awaiting each ack

async function rawPublish(): Promise<{ rate: number; latency: Latencies; bytes: number }> {
  const stream = 'BENCH_RAW_PUBLISH';
  await jsm.streams.add({ name: stream, subjects: ['bench.rawpub.*'], storage: StorageType.File });
  onCleanup(`stream ${stream}`, () => jsm.streams.delete(stream).catch(() => undefined));
  const payload = JSON.stringify(backlogEvent('00000000-0000-4000-8000-000000000000', 2, 100, new Date().toISOString()));
  const latency = new Latencies();
  const warmupEnd = performance.now() + 500;
  while (performance.now() < warmupEnd) await js.publish('bench.rawpub.x', payload);
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < cfg.rawPublishMs) {
    const s = performance.now();
    await js.publish('bench.rawpub.x', payload);
    latency.add(performance.now() - s);
    n++;
  }
  const rate = n / ((performance.now() - t0) / 1000);
  await jsm.streams.delete(stream);
  return { rate, latency, bytes: Buffer.byteLength(payload) };
}

// ---------------------------------------------------------------------------------------------
// 1a. Streamable HTTP: N MCP clients, each its own MCP session, one call in flight each

async function httpIngest(url: URL, serverPid: number, withPytestSessions: boolean, extraPids: Record<string, number | undefined>) {
  const clients: HttpMcpClient[] = [];
  try {
    for (let i = 0; i < cfg.clients; i++) clients.push(await httpClient(url));
    const sessions = withPytestSessions
      ? await Promise.all(
          clients.map(async ({ client }) => ({ id: (await callOk(client, 'record_session_start', START_ARGS)).session_id as string, acked: 0, lastSeq: 0 })),
        )
      : [];
    const res = await runLoad({
      lanes: cfg.clients,
      warmupMs: cfg.warmupMs,
      measureMs: cfg.measureMs,
      cpu: new CpuWindow({ server: serverPid, 'nats-server': natsPid, ...extraPids }),
      call: async (lane, i) => {
        const sc = await callOk(clients[lane]!.client, 'record_test_outcome', outcomeArgs(`tests/test_bench.py::test_${i}`));
        if (!withPytestSessions) return;
        const session = sessions[lane]!;
        if (sc.duplicate !== false || typeof sc.seq !== 'number') throw new Error(`unexpected answer ${JSON.stringify(sc)}`);
        session.acked++;
        session.lastSeq = Math.max(session.lastSeq, sc.seq);
      },
    });
    return { res, sessions };
  } finally {
    await Promise.all(clients.map(closeHttpClient));
  }
}

async function bareHttp(json: boolean): Promise<LoadResult> {
  const port = await freePort();
  const proc = Proc.spawn(`bare-http-${json ? 'json' : 'sse'}`, process.execPath, [distEntry('bench/bare-http-server.js')], {
    BARE_PORT: String(port),
    BARE_JSON_RESPONSE: json ? '1' : '0',
  });
  onCleanup(proc.name, () => proc.stop());
  const [, url] = await proc.waitFor(/bare MCP server at (\S+)/);
  try {
    const { res } = await httpIngest(new URL(url!), proc.child.pid!, false, {});
    return res;
  } finally {
    await proc.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// 1b. stdio: one MCP client, N calls in flight into one session

async function stdioIngest(entry: string, childEnv: Record<string, string>, withPytestSession: boolean, extraPids: Record<string, number | undefined>) {
  const mcp = await stdioClient(entry, childEnv);
  onCleanup(`stdio ${entry}`, () => mcp.client.close());
  try {
    const session = { id: '', acked: 0, lastSeq: 0 };
    if (withPytestSession) session.id = (await callOk(mcp.client, 'record_session_start', START_ARGS)).session_id;
    let counter = 0;
    const res = await runLoad({
      lanes: cfg.clients,
      warmupMs: cfg.warmupMs,
      measureMs: cfg.measureMs,
      cpu: new CpuWindow({ server: mcp.pid, 'nats-server': natsPid, ...extraPids }),
      call: async () => {
        const sc = await callOk(mcp.client, 'record_test_outcome', outcomeArgs(`tests/test_bench.py::test_${counter++}`));
        if (!withPytestSession) return;
        if (sc.duplicate !== false || typeof sc.seq !== 'number') throw new Error(`unexpected answer ${JSON.stringify(sc)}`);
        session.acked++;
        session.lastSeq = Math.max(session.lastSeq, sc.seq);
      },
    });
    let rss = Number.NaN;
    try {
      rss = rssKiB(mcp.pid);
    } catch {
      // gone
    }
    if (res.errors.length) out(`  stdio server stderr (tail):\n${mcp.stderr().slice(-2000)}`);
    return { res, session, rss };
  } finally {
    await mcp.client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Projection catch-up, and a raw durable pull consumer over the same kind of backlog

async function projectionCatchUp() {
  const projectorConsumer = () => jsm.consumers.info(EVENTS_STREAM, SESSION_PROJECTOR_DURABLE);
  // Everything written so far is folded before the projector stops, so the timed backlog is only the new events.
  const before = await streamLastSeq();
  await eventually(async () => (await projectorConsumer()).ack_floor.stream_seq >= before, 120_000, 'the projector to fold the ingest runs');
  await apps.projector!.stop();

  const backlog = buildBacklog(cfg.backlogSessions, cfg.backlogPerSession, cfg.backlogConcurrent);
  const sizes = backlog.messages.map((m) => Buffer.byteLength(m.data));
  const meanBytes = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  const t0 = performance.now();
  const lastSeq = await publishAll(js, backlog.messages, 256, true);
  const publishRate = backlog.messages.length / ((performance.now() - t0) / 1000);
  const streamLast = await streamLastSeq();
  if (streamLast !== lastSeq || lastSeq - before !== backlog.messages.length) {
    throw new Error(`backlog: expected ${backlog.messages.length} new events after ${before}, stream last_seq is ${streamLast}`);
  }
  out(
    `  backlog: ${backlog.messages.length.toLocaleString('en-US')} events (${cfg.backlogSessions} sessions × ${cfg.backlogPerSession}, ${cfg.backlogConcurrent} sessions interleaved at a time, ` +
      `mean ${meanBytes.toFixed(0)} B) published at ${fmtRate(publishRate, 'msgs/s')} (256 in flight)`,
  );

  const kvStream = `KV_${SESSIONS_BUCKET}`;
  const kvBefore = (await jsm.streams.info(kvStream)).state.last_seq;
  const tStart = performance.now();
  apps.projector = await App.start('projector', env);
  const tReady = performance.now();
  const pid = apps.projector.pid;
  const cpuBefore = cpuMicros(pid);
  const natsBefore = natsPid ? cpuMicros(natsPid) : Number.NaN;
  const info = await eventually(
    async () => {
      const i = await projectorConsumer();
      return i.ack_floor.stream_seq >= lastSeq ? i : undefined;
    },
    300_000,
    'the projector to catch up',
  );
  const tDone = performance.now();
  const projectorCpu = cpuMicros(pid) - cpuBefore;
  const natsCpu = natsPid ? cpuMicros(natsPid) - natsBefore : Number.NaN;
  const seconds = (tDone - tReady) / 1000;
  const rate = backlog.messages.length / seconds;
  const viewWrites = (await jsm.streams.info(kvStream)).state.last_seq - kvBefore;
  out(
    `  projector: ready after ${((tReady - tStart) / 1000).toFixed(2)} s, then folded the backlog in ${seconds.toFixed(2)} s → ${fmtRate(rate, 'events/s')}` +
      ` (${fmtRate(backlog.messages.length / ((tDone - tStart) / 1000), 'events/s')} counting start-up); ` +
      `CPU per event: projector ${fmtUs(projectorCpu / backlog.messages.length)}, nats-server ${fmtUs(natsCpu / backlog.messages.length)}; ` +
      `ack_floor ${info.ack_floor.stream_seq}, redelivered ${info.num_redelivered}`,
  );
  out(
    `  view writes (KV puts): ${viewWrites.toLocaleString('en-US')} for ${backlog.messages.length.toLocaleString('en-US')} events ` +
      `= ${(backlog.messages.length / viewWrites).toFixed(1)} events folded per view write`,
  );

  // A few views, read straight from the KV bucket.
  const kv = await new Kvm(nc).open(SESSIONS_BUCKET);
  const picks = [0, backlog.sessionIds.length - 1, ...Array.from({ length: 8 }, () => Math.floor(Math.random() * backlog.sessionIds.length))];
  const bad: string[] = [];
  for (const i of picks) {
    const id = backlog.sessionIds[i]!;
    const entry = await kv.get(sessionKey({ owner: BACKLOG_OWNER, sessionId: id }));
    const view = entry?.operation === 'PUT' ? entry.json<SessionView>() : undefined;
    if (
      !view ||
      view.counts.total !== backlog.resultsPerSession ||
      view.counts.passed !== backlog.resultsPerSession ||
      view.status !== 'finished' ||
      view.version !== cfg.backlogPerSession
    ) {
      bad.push(`${id}: ${view ? `status ${view.status}, counts.total ${view.counts.total}, version ${view.version}` : 'no view'}`);
    }
  }
  if (bad.length === 0)
    out(
      `  verified: ${picks.length} views in ${SESSIONS_BUCKET} are finished with counts.total ${backlog.resultsPerSession} and version ${cfg.backlogPerSession}`,
    );
  else {
    out(`  !!! NOT VERIFIED: views differ from the backlog:`);
    for (const b of bad) out(`  !!!   ${b}`);
    failures.push(`projection: ${bad.length} of ${picks.length} checked views are wrong`);
  }
  return { rate, seconds, backlog, meanBytes, verified: bad.length === 0 };
}

/**
 * A bare durable pull consumer with explicit acks over a copy of the backlog (same sizes, no
 * filter_subject: the scratch stream holds nothing else), acking each message and doing nothing else.
 * `callback` is consume()'s callback form, the one the projector uses; `iterator` is `for await`.
 */
async function rawConsume(messages: { subject: string; data: string; msgID: string }[]): Promise<{ callback: number; iterator: number }> {
  const stream = 'BENCH_RAW_CONSUME';
  await jsm.streams.add({ name: stream, subjects: ['bench.rawcons.*'], storage: StorageType.File });
  onCleanup(`stream ${stream}`, () => jsm.streams.delete(stream).catch(() => undefined));
  const raw = messages.map((m) => ({ ...m, subject: `bench.rawcons.${m.subject.slice(m.subject.lastIndexOf('.') + 1)}` }));
  const lastSeq = await publishAll(js, raw, 256, false);
  const run = async (durable: string, mode: 'callback' | 'iterator') => {
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: 30_000_000_000,
      max_ack_pending: 20_000,
    });
    const consumer = await js.consumers.get(stream, durable);
    const t0 = performance.now();
    let n = 0;
    let msgs;
    if (mode === 'iterator') {
      msgs = await consumer.consume({ max_messages: 2000 });
      // Leaving the loop with break stops the iterator (so close() below resolves).
      for await (const msg of msgs) {
        msg.ack();
        if (++n >= raw.length) break;
      }
      if (n < raw.length) throw new Error(`the raw consumer stopped after ${n} messages`);
    } else {
      let finished!: () => void;
      const all = new Promise<void>((resolve) => (finished = resolve));
      msgs = await consumer.consume({
        max_messages: 2000,
        callback: (msg) => {
          msg.ack();
          if (++n === raw.length) finished();
        },
      });
      await all;
    }
    await nc.flush();
    const seconds = (performance.now() - t0) / 1000;
    await msgs.close();
    await eventually(async () => (await jsm.consumers.info(stream, durable)).ack_floor.stream_seq >= lastSeq, 30_000, `the ${durable} ack floor`);
    return raw.length / seconds;
  };
  const callback = await run('bench-raw-callback', 'callback');
  const iterator = await run('bench-raw-iterator', 'iterator');
  await jsm.streams.delete(stream);
  return { callback, iterator };
}

// ---------------------------------------------------------------------------------------------
// 3. get-session round trip vs raw request/reply; write ack → visible in get-session

async function getSessionRtt(sessionIds: string[]) {
  const ask = async (i: number) => {
    const reply = await nc.request(QUERY_PATTERNS.getSession, JSON.stringify({ session_id: sessionIds[i % sessionIds.length], owner: BACKLOG_OWNER }), {
      timeout: 5000,
    });
    const body = reply.json<NestReply<SessionView>>();
    if (!body.response) throw new Error(`get-session answered ${JSON.stringify(body.err ?? body)}`);
    return reply.data.length;
  };
  // Warm the JIT on a few sessions; then the first read of every other session (the query app reads
  // the bucket), then steady state (views in the query app's cache, as for a dashboard polling).
  const warmUp = Math.min(300, Math.floor(sessionIds.length / 3));
  let replyBytes = 0;
  for (let i = 0; i < warmUp; i++) replyBytes = await ask(i);
  const firstRead = new Latencies();
  for (let i = warmUp; i < sessionIds.length; i++) {
    const t = performance.now();
    await ask(i);
    firstRead.add(performance.now() - t);
  }
  const latency = new Latencies();
  const cpu = new CpuWindow({ query: apps.query!.pid, 'nats-server': natsPid });
  cpu.start();
  for (let i = 0; i < cfg.rttRequests; i++) {
    const t = performance.now();
    await ask(i);
    latency.add(performance.now() - t);
  }
  const queryCpu = cpu.stop().micros;

  // The responder runs in a process of its own, like the query app: the same hops and processes.
  const responder = Proc.spawn('raw-responder', process.execPath, [distEntry('bench/raw-responder.js')], {
    NATS_URL: `nats://${nc.getServer()}`,
    RESPONDER_SUBJECT: 'bench.rtt.echo',
    RESPONDER_BYTES: String(replyBytes),
  });
  onCleanup('raw responder', () => responder.stop());
  await responder.waitFor(/ready/);
  const rawAsk = async (i: number) => {
    const reply = await nc.request('bench.rtt.echo', JSON.stringify({ session_id: sessionIds[i % sessionIds.length], owner: BACKLOG_OWNER }), {
      timeout: 5000,
    });
    if (reply.data.length !== replyBytes) throw new Error('raw reply of the wrong size');
  };
  for (let i = 0; i < 300; i++) await rawAsk(i);
  const rawLatency = new Latencies();
  for (let i = 0; i < cfg.rttRequests; i++) {
    const t = performance.now();
    await rawAsk(i);
    rawLatency.add(performance.now() - t);
  }
  await responder.stop();
  return { latency, firstRead, rawLatency, replyBytes, queryCpu };
}

async function writeToVisible(url: URL) {
  const mcp = await httpClient(url, 'bench-visible');
  try {
    const sessionId = (await callOk(mcp.client, 'record_session_start', START_ARGS)).session_id as string;
    const visible = new Latencies();
    const write = new Latencies();
    let last: SessionView | undefined;
    for (let i = 0; i < cfg.visibleWrites; i++) {
      const t0 = performance.now();
      const { seq } = await callOk(mcp.client, 'record_test_outcome', outcomeArgs(`tests/test_visible.py::test_${i}`));
      const acked = performance.now();
      const reply = await getSession({ session_id: sessionId, owner: BACKLOG_OWNER, min_seq: seq });
      visible.add(performance.now() - acked);
      write.add(acked - t0);
      if (!reply.response || reply.response.last_seq < seq) {
        throw new Error(`write seq ${seq} not visible in get-session: ${JSON.stringify(reply.err ?? reply.response?.last_seq)}`);
      }
      last = reply.response;
    }
    if (last?.counts.total !== cfg.visibleWrites) throw new Error(`read-your-writes: ${cfg.visibleWrites} written, view counts.total ${last?.counts.total}`);
    return { visible, write };
  } finally {
    await closeHttpClient(mcp);
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const natsVersion = natsServerVersion();
  const sdkVersion = JSON.parse(readFileSync(join(root, 'node_modules/@modelcontextprotocol/sdk/package.json'), 'utf8')).version as string;
  out(`mcp-pytest benchmark — ${new Date().toISOString()}`);
  out(
    `node ${process.version}, nats-server ${natsVersion}, MCP SDK ${sdkVersion}, ${cpuModel()}, ${(await import('node:os')).cpus().length} cores, CLK_TCK ${CLK_TCK}`,
  );
  out(`load: ${cfg.clients} MCP clients / calls in flight, ${cfg.warmupMs / 1000} s warm-up + ${cfg.measureMs / 1000} s measured per ingest run`);
  out();

  const nats = await step('start nats-server', () => NatsServer.start());
  onCleanup('nats-server', () => nats.dispose());
  natsPid = childPids(process.pid, 'nats-server')[0];
  const dataDir = mkdtempSync(join(tmpdir(), 'mcp-pytest-bench-data-'));
  onCleanup('read-model store', async () => rmSync(dataDir, { recursive: true, force: true }));
  const storePath = join(dataDir, 'read-models.sqlite');
  env = { NATS_URL: nats.url, READ_MODEL_URL: `sqlite:${storePath}` };

  await step('start projector, query, gateway', async () => {
    for (const name of ['projector', 'query', 'gateway'] as const) {
      apps[name] = await App.start(name, env);
      onCleanup(name, () => apps[name]!.stop());
    }
  });
  nc = await connect({ servers: nats.url, noAsyncTraces: true, name: 'bench' });
  onCleanup('bench NATS connection', () => nc.close());
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  await recordRss('start (apps idle)');
  const gatewayPid = apps.gateway!.pid;
  const projectorPidAtIngest = apps.projector!.pid;

  // 1c
  out('1c. Raw JetStream publish, one at a time awaiting each ack (reference)');
  const raw = await step('raw JetStream publish', rawPublish);
  out(
    `  ${`raw publish, ${raw.bytes} B payload`.padEnd(34)} ${fmtRate(raw.rate, 'msgs/s').padStart(14)}   p50 ${fmtMs(raw.latency.p50).padStart(8)}   p99 ${fmtMs(raw.latency.p99).padStart(8)}`,
  );
  out();

  // 1a
  out(`1a. MCP ingest of record_test_outcome over Streamable HTTP, ${cfg.clients} clients, each its own MCP session and pytest session`);
  const beforeHttp = await storeCounters();
  const gw = await step('HTTP ingest through the gateway', () =>
    httpIngest(apps.gateway!.mcpUrl, gatewayPid, true, { projector: projectorPidAtIngest, query: apps.query!.pid }),
  );
  describeLoad('gateway (+ projector, query)', gw.res, 'server');
  const httpVerified = await step('verify HTTP ingest', () => verifyStored('HTTP ingest', gw.sessions));
  describeStore(
    beforeHttp,
    await storeCounters(),
    gw.sessions.reduce((a, x) => a + x.acked + 1, 0),
  );
  await recordRss('after HTTP ingest');
  const bareSse = await step('HTTP ingest, bare SDK server (SSE answers)', () => bareHttp(false));
  describeLoad('bare SDK, Express, SSE answers', bareSse, 'server');
  const bareJson = await step('HTTP ingest, bare SDK server (JSON answers)', () => bareHttp(true));
  describeLoad('bare SDK, Express, JSON answers', bareJson, 'server');
  out();

  // 1b
  out(`1b. MCP ingest of record_test_outcome over stdio, one client, ${cfg.clients} calls in flight into one session`);
  const beforeStdio = await storeCounters();
  const stdioGw = await step('stdio ingest through the gateway', () =>
    stdioIngest(distEntry('apps/gateway/src/stdio.js'), env, true, { projector: projectorPidAtIngest, query: apps.query!.pid }),
  );
  describeLoad('gateway stdio (+ projector, query)', stdioGw.res, 'server');
  const stdioVerified = await step('verify stdio ingest', () => verifyStored('stdio ingest', [stdioGw.session]));
  describeStore(beforeStdio, await storeCounters(), stdioGw.session.acked + 1);
  await recordRss('after stdio ingest');
  const bareStdio = await step('stdio ingest, bare SDK server', async () => (await stdioIngest(distEntry('bench/bare-stdio-server.js'), {}, false, {})).res);
  describeLoad('bare SDK, stdio', bareStdio, 'server');
  out();

  // 2
  out('2. Projection catch-up (projector stopped, backlog published, projector started)');
  const projection = await step('projection catch-up', projectionCatchUp);
  await recordRss('after projection catch-up (new projector process)');
  const rawConsumer = await step('raw durable pull consumer', () => rawConsume(projection.backlog.messages));
  out(`  raw durable pull consumer, consume({max_messages: 2000, callback}) + ack each: ${fmtRate(rawConsumer.callback, 'msgs/s')}   (reference)`);
  out(`  raw durable pull consumer, for await (consume({max_messages: 2000})) + ack each: ${fmtRate(rawConsumer.iterator, 'msgs/s')}`);
  out();

  // 3
  out(`3. get-session over NATS request/reply (${cfg.rttRequests} sequential requests, finished sessions of the backlog)`);
  const rtt = await step('get-session round trips', () => getSessionRtt(projection.backlog.sessionIds));
  out(
    `  get-session                     p50 ${fmtMs(rtt.latency.p50).padStart(8)}   p99 ${fmtMs(rtt.latency.p99).padStart(8)}   (reply ${rtt.replyBytes} B; ` +
      `CPU per request: query app ${fmtUs(rtt.queryCpu.query! / cfg.rttRequests)}, nats-server ${fmtUs(rtt.queryCpu['nats-server']! / cfg.rttRequests)}, bench ${fmtUs(rtt.queryCpu.bench! / cfg.rttRequests)})`,
  );
  out(
    `  get-session, first read of a view p50 ${fmtMs(rtt.firstRead.p50).padStart(8)}   p99 ${fmtMs(rtt.firstRead.p99).padStart(8)}   (${rtt.firstRead.count} sessions: the query app reads the KV bucket)`,
  );
  out(`  raw request/reply, ${rtt.replyBytes} B reply  p50 ${fmtMs(rtt.rawLatency.p50).padStart(8)}   p99 ${fmtMs(rtt.rawLatency.p99).padStart(8)}`);
  const visible = await step('write ack → visible in get-session', () => writeToVisible(apps.gateway!.mcpUrl));
  out(
    `  write ack → visible in get-session (min_seq), ${cfg.visibleWrites}×: p50 ${fmtMs(visible.visible.p50)}, p99 ${fmtMs(visible.visible.p99)} ` +
      `(the write itself: p50 ${fmtMs(visible.write.p50)}, p99 ${fmtMs(visible.write.p99)}); read-your-writes verified`,
  );
  const feed = await step('write ack → seen on /api/events', () => writeToFeed(apps.gateway!.mcpUrl, apps.query!.httpUrl, cfg.visibleWrites, START_ARGS));
  out(
    `  write ack → seen on /api/events (SSE), ${cfg.visibleWrites}×: p50 ${fmtMs(feed.seen.p50)}, p99 ${fmtMs(feed.seen.p99)} ` +
      `(the write itself: p50 ${fmtMs(feed.write.p50)}, p99 ${fmtMs(feed.write.p99)})`,
  );
  out();

  // 5
  out(`5. CI ingest: record_test_outcomes batches over Streamable HTTP, ${cfg.batchClients} clients, each its own pytest session`);
  const rawInFlight = await step('raw JetStream publish, 256 in flight', () => rawPublishInFlight(js, jsm, { inFlight: 256, ms: cfg.rawPublishMs }));
  out(`  ${`raw publish, 256 in flight, ${rawInFlight.bytes} B`.padEnd(34)} ${fmtRate(rawInFlight.rate, 'msgs/s').padStart(14)}   (reference)`);
  const beforeBatch = await storeCounters();
  const batch = await step('batch ingest through the gateway', () =>
    batchIngest(apps.gateway!.mcpUrl, {
      lanes: cfg.batchClients,
      warmupMs: cfg.warmupMs,
      measureMs: cfg.measureMs,
      cpu: new CpuWindow({ server: gatewayPid, 'nats-server': natsPid, projector: apps.projector!.pid, query: apps.query!.pid }),
      startArgs: START_ARGS,
    }),
  );
  describeLoad(`gateway, batches of ${batch.batchSize}`, batch.res, 'server');
  const batchRate = batch.res.rate * batch.batchSize;
  out(`  = ${fmtRate(batchRate, 'outcomes/s')}`);
  const batchVerified = await step('verify batch ingest', () => verifyStored('batch ingest', batch.sessions));
  describeStore(
    beforeBatch,
    await storeCounters(),
    batch.sessions.reduce((a, x) => a + x.acked + 1, 0),
  );
  out();

  // 6
  out(
    `6. A generated ${cfg.suiteTests.toLocaleString('en-US')}-test pytest suite (python3 -m pytest -q), median of ${cfg.suiteRounds} runs each, taken in turn`,
  );
  const suite = await step('pytest with and without the plugin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-pytest-bench-suite-'));
    onCleanup('generated suite', async () => rmSync(dir, { recursive: true, force: true }));
    generateSuite(dir, cfg.suiteTests);
    const closed = `http://127.0.0.1:${await freePort()}/mcp`;
    // Accepts connections and never answers: the kernel completes them while the bench waits on pytest.
    const held = new Set<Socket>();
    const blackhole = createServer((socket) => held.add(socket));
    await new Promise<void>((listening) => blackhole.listen(0, '127.0.0.1', listening));
    onCleanup('blackhole server', async () => {
      for (const socket of held) socket.destroy();
      blackhole.close();
    });
    const blackholed = `http://127.0.0.1:${(blackhole.address() as AddressInfo).port}/mcp`;
    return interleavedRuns(cfg.suiteRounds, {
      plain: () => runPytest(dir, []),
      plugin: () => runPytest(dir, ['-p', 'mcp_pytest', '--mcp-url', apps.gateway!.mcpUrl.href]),
      unreachable: () => runPytest(dir, ['-p', 'mcp_pytest', '--mcp-url', closed, '--mcp-spool', join(dir, 'spool.jsonl')]),
      blackholed: () => runPytest(dir, ['-p', 'mcp_pytest', '--mcp-url', blackholed, '--mcp-spool', join(dir, 'spool-2.jsonl')]),
    });
  });
  for (const [label, run] of Object.entries(suite)) {
    out(`  ${label.padEnd(12)} ${run.median.toFixed(2)} s   exit ${run.status}   ${run.stdout.trim().split('\n').at(-1)}`);
  }
  const pluginSession = /session (\S+) recorded/.exec(suite.plugin.stdout + suite.plugin.stderr)?.[1];
  const pluginView = pluginSession ? (await getSession({ session_id: pluginSession, owner: BACKLOG_OWNER })).response : undefined;
  const suiteCounted =
    pluginView?.counts.total === cfg.suiteTests && [suite.plugin, suite.unreachable, suite.blackholed].every((run) => run.status === suite.plain.status);
  out(
    `  plugin's session ${pluginSession ?? '(not named)'}: counts.total ${pluginView?.counts.total ?? '—'} of ${cfg.suiteTests}; exit statuses ${suiteCounted ? 'equal' : 'DIFFER'}`,
  );
  if (!suiteCounted) failures.push('plugin run: the session does not hold every test, or the exit status changed');
  out();

  // 7
  out(`7. mcp-pytest import junit of a generated ${cfg.junitCases.toLocaleString('en-US')}-case JUnit XML file, through the gateway`);
  const junit = await step('JUnit import', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-pytest-bench-junit-'));
    onCleanup('generated JUnit file', async () => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'junit.xml');
    const expected = generateJUnit(path, cfg.junitCases);
    const first = importJUnit(path, apps.gateway!.mcpUrl);
    const again = importJUnit(path, apps.gateway!.mcpUrl);
    return { expected, first, again, bytes: statSync(path).size };
  });
  for (const [label, run] of [
    ['import', junit.first],
    ['again', junit.again],
  ] as const) {
    out(`  ${label.padEnd(8)} ${run.seconds.toFixed(2)} s   exit ${run.status}   ${(run.stdout || run.stderr).trim().split('\n').at(-1)}`);
  }
  const junitRate = cfg.junitCases / junit.first.seconds;
  out(`  = ${fmtRate(junitRate, 'cases/s')} (${(junit.bytes / 1024 / 1024).toFixed(1)} MiB of XML)`);
  const junitImported = junit.first.status === 0 && junit.again.status === 0 && new RegExp(`${cfg.junitCases} outcomes \\(0 recorded`).test(junit.again.stdout);
  if (!junitImported) failures.push(`JUnit import: ${junit.first.stderr || junit.again.stderr || junit.again.stdout}`);
  out();

  // 8
  const scale = cfg.reads;
  out(
    `8. Cross-session reads: ${scale.sessions.toLocaleString('en-US')} finished sessions × ${scale.testsPerSession.toLocaleString('en-US')} tests, ${scale.resultsPerEvent} results per event, folded into the views and the SQL read models (SQLite)`,
  );
  const reads = await step('read models at scale', () =>
    readModelsAtScale({ nc, js, jsm, natsUrl: nats.url, projectorPid: () => apps.projector!.pid, queryPid: () => apps.query!.pid, storePath }, scale, progress),
  );
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
  await recordRss('end');
  out();

  // 4
  out('4. RSS (VmRSS)');
  out(`  ${'stage'.padEnd(52)} ${'gateway'.padStart(10)} ${'projector'.padStart(10)} ${'query'.padStart(10)} ${'events in stream'.padStart(17)}`);
  for (const r of rssRows) {
    out(
      `  ${r.stage.padEnd(52)} ${fmtMiB(r.gateway).padStart(10)} ${fmtMiB(r.projector).padStart(10)} ${fmtMiB(r.query).padStart(10)} ${r.events.toLocaleString('en-US').padStart(17)}`,
    );
  }
  out(`  stdio gateway after its ingest run: ${fmtMiB(stdioGw.rss)} (${stdioGw.session.acked.toLocaleString('en-US')} results in one session)`);
  out();

  // The table
  const rate = (n: number) => fmtRate(n, 'calls/s');
  const ms = fmtMs;
  const us = fmtUs;
  report.compare('1a HTTP ingest, calls/s', gw.res.rate, bareSse.rate, rate, { kind: 'higher', bound: 1 }, '(bare SDK, SSE)');
  report.compare('1a HTTP ingest, server CPU/call', serverCpu(gw.res, 'server'), serverCpu(bareSse, 'server'), us, undefined, '(bare SDK, SSE)');
  report.compare('1a HTTP ingest, p50', gw.res.latency.p50, bareSse.latency.p50, ms, undefined, '(bare SDK, SSE)');
  report.compare('1a HTTP ingest, p99', gw.res.latency.p99, bareSse.latency.p99, ms, undefined, '(bare SDK, SSE)');
  report.compare('1a HTTP ingest, calls/s vs JSON-mode bare', gw.res.rate, bareJson.rate, rate, undefined, '(bare SDK, JSON)');
  report.compare(
    '1a HTTP ingest, server CPU/call vs JSON-mode bare',
    serverCpu(gw.res, 'server'),
    serverCpu(bareJson, 'server'),
    us,
    undefined,
    '(bare SDK, JSON)',
  );
  report.check('1a HTTP ingest, acked = stored', httpVerified, 'no loss');
  report.compare('1b stdio ingest, calls/s', stdioGw.res.rate, bareStdio.rate, rate, { kind: 'higher', bound: 1 }, '(bare SDK)');
  report.compare('1b stdio ingest, server CPU/call', serverCpu(stdioGw.res, 'server'), serverCpu(bareStdio, 'server'), us, undefined, '(bare SDK)');
  report.compare('1b stdio ingest, p50', stdioGw.res.latency.p50, bareStdio.latency.p50, ms, undefined, '(bare SDK)');
  report.compare('1b stdio ingest, p99', stdioGw.res.latency.p99, bareStdio.latency.p99, ms, undefined, '(bare SDK)');
  report.check('1b stdio ingest, acked = stored', stdioVerified, 'no loss');
  report.compare('1c HTTP ingest vs raw publish await-each', gw.res.rate, raw.rate, rate, undefined, '(raw msgs/s)');
  report.compare('1c stdio ingest vs raw publish await-each', stdioGw.res.rate, raw.rate, rate, undefined, '(raw msgs/s)');
  report.add({ figure: '1c raw publish await-each, p50 / p99', value: `${ms(raw.latency.p50)} / ${ms(raw.latency.p99)}` });
  report.compare(
    '2 projection catch-up, events/s',
    projection.rate,
    rawConsumer.callback,
    (n) => fmtRate(n, 'ev/s'),
    { kind: 'higher', bound: 0.5 },
    '(raw consume+ack)',
  );
  report.compare('2 projection vs raw for-await consumer', projection.rate, rawConsumer.iterator, (n) => fmtRate(n, 'ev/s'), undefined, '(raw, for await)');
  report.check('2 projection, views checked', projection.verified, 'correct');
  report.compare('3 get-session p50', rtt.latency.p50, rtt.rawLatency.p50, ms, undefined, '(raw req/reply)');
  report.compare('3 get-session p99', rtt.latency.p99, rtt.rawLatency.p99, ms, { kind: 'lower', bound: 2 }, '(raw req/reply)');
  report.compare('3 get-session p99, first read of a view', rtt.firstRead.p99, rtt.rawLatency.p99, ms, undefined, '(raw req/reply)');
  report.add({ figure: '3 write ack → visible, p50 / p99', value: `${ms(visible.visible.p50)} / ${ms(visible.visible.p99)}` });
  const feedMet = feed.seen.p99 < 100;
  if (!feedMet) failures.push(`write ack → seen on /api/events: p99 ${ms(feed.seen.p99)} ≥ 100 ms`);
  report.add({
    figure: '3 write ack → seen on /api/events, p99',
    value: ms(feed.seen.p99),
    reference: `${ms(visible.visible.p99)} (→ visible in get-session)`,
    target: '< 100 ms',
    met: feedMet ? 'yes' : 'NO',
  });
  report.compare(
    '5 batch ingest, outcomes/s',
    batchRate,
    rawInFlight.rate,
    (n) => fmtRate(n, '/s'),
    { kind: 'higher', bound: 0.5 },
    '(raw one-result msgs, 256 in flight)',
  );
  report.check('5 batch ingest, acked = stored', batchVerified, 'no loss');
  report.compare(
    '6 pytest suite with the plugin, wall time',
    suite.plugin.median,
    suite.plain.median,
    (n) => `${n.toFixed(2)} s`,
    { kind: 'lower', bound: 1.1 },
    '(without)',
  );
  for (const [figure, run] of [
    ['6 … server unreachable (port closed), time added', suite.unreachable],
    ['6 … server blackholed (never answers), time added', suite.blackholed],
  ] as const) {
    const added = run.median - suite.plain.median;
    report.add({
      figure,
      value: `${added.toFixed(2)} s`,
      reference: `${suite.plain.median.toFixed(2)} s (without)`,
      target: '< 3 s',
      met: added < 3 ? 'yes' : 'NO',
    });
  }
  report.compare('7 JUnit import, cases/s', junitRate, batchRate, (n) => fmtRate(n, '/s'), undefined, '(batch ingest outcomes)');
  report.check('7 JUnit import twice, counted once', junitImported, 'idempotent');
  const readTarget = (figure: string, latencies: Latencies, boundMs: number) => {
    const met = latencies.p99 <= boundMs;
    if (!met) failures.push(`${figure}: p99 ${ms(latencies.p99)} > ${boundMs} ms`);
    report.add({
      figure,
      value: ms(latencies.p99),
      reference: `${ms(reads.raw.p99)} (raw req/reply p99)`,
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
    figure: '8 projector / query RSS, before → after folding them',
    value: `${fmtMiB(beforeReads!.projector)} → ${fmtMiB(afterReads!.projector)} / ${fmtMiB(beforeReads!.query)} → ${fmtMiB(afterReads!.query)}`,
    target: '—',
  });
  // Flat: the second half of the results adds little beyond what the first half's peak took.
  const peak = (from: number, to: number) => Math.max(0, ...reads.whileFolding.filter((s) => s.folded >= from && s.folded < to).map((s) => s.projector));
  const [firstHalf, secondHalf] = [peak(0, 0.5), peak(0.5, 1.01)];
  const flat = firstHalf > 0 && secondHalf <= firstHalf * 1.1;
  if (!flat)
    failures.push(`projector RSS not flat while folding: peak ${fmtMiB(firstHalf)} over the first half of the results, ${fmtMiB(secondHalf)} over the second`);
  report.add({
    figure: '8 projector RSS peak, first half → second half of the results',
    value: `${fmtMiB(firstHalf)} → ${fmtMiB(secondHalf)}`,
    reference: `${fmtMiB(beforeReads!.projector)} before`,
    target: 'flat (≤ +10 %)',
    met: flat ? 'yes' : 'NO',
  });
  const first = rssRows[0]!;
  const last = rssRows[rssRows.length - 1]!;
  report.add({
    figure: '4 gateway RSS, start → end',
    value: `${fmtMiB(first.gateway)} → ${fmtMiB(last.gateway)}`,
    reference: `${first.events.toLocaleString('en-US')} → ${last.events.toLocaleString('en-US')} events`,
  });
  report.add({
    figure: '4 projector RSS, start → end',
    value: `${fmtMiB(first.projector)} → ${fmtMiB(last.projector)}`,
    reference: 'restarted for the catch-up',
  });
  out(report.text());

  const md = [
    '## Benchmark (`npm run bench`)',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpuModel()} (${(await import('node:os')).cpus().length} cores), Node ${process.version}, ` +
      `nats-server ${natsVersion}, MCP SDK ${sdkVersion}. Every reference was measured in the same run on the same machine.`,
    '',
    report.markdown(),
    '',
    `- Ingest: ${cfg.clients} MCP SDK clients over Streamable HTTP (each its own MCP session and pytest session, one call in flight each), ` +
      `or one stdio client with ${cfg.clients} calls in flight into one session; ${cfg.warmupMs / 1000} s warm-up, ${cfg.measureMs / 1000} s measured. ` +
      'The gateway runs with the projector and the query app up. Server CPU/call is utime+stime of the server process over the window, per call.',
    "- Reference servers: the MCP SDK's `McpServer` with one do-nothing `record_test_outcome` tool, over `createMcpExpressApp()` + stateful " +
      "`StreamableHTTPServerTransport` (the SDK examples' pattern; SSE answers by default, JSON with `enableJsonResponse`), or `StdioServerTransport`.",
    `- Projection: ${projection.backlog.messages.length.toLocaleString('en-US')} events (${cfg.backlogSessions} sessions × ${cfg.backlogPerSession}, ` +
      `${cfg.backlogConcurrent} interleaved at a time, mean ${projection.meanBytes.toFixed(0)} B) published while the projector was stopped; ` +
      'timed from the projector being ready until the ack floor of its durable consumer reached the last event. ' +
      'Reference: a bare durable pull consumer, `consume({max_messages: 2000})` + `ack()` per message, over a copy of the same messages.',
    `- CI ingest: ${cfg.batchClients} MCP SDK clients over Streamable HTTP, each its own pytest session, each sending record_test_outcomes calls of ${LIMITS.batchOutcomes} new outcomes (one call in flight each); ` +
      'outcomes acknowledged per second, every one checked in get-session afterwards. Reference: one-result events published raw to JetStream with 256 publishes in flight.',
    `- pytest: a generated suite of ${cfg.suiteTests.toLocaleString('en-US')} quick tests (2% failing, 2% skipped) run with \`python3 -m pytest -q\` (pytest ${pytestVersion()}), ` +
      `the median wall time of ${cfg.suiteRounds} runs each, taken in turn, without the plugin, with it (\`--mcp-url\` to the gateway; the session's counts checked), with it pointed at a closed port, and at a server that accepts connections and never answers (everything spooled).`,
    `- JUnit import: \`mcp-pytest import junit\` of a generated file of ${cfg.junitCases.toLocaleString('en-US')} cases (5% failing with a traceback), wall time of the whole command (Node start, parse, send, finish); then imported again, which must record nothing.`,
    `- Live feed: ${cfg.visibleWrites} record_test_outcome calls one at a time into one session, each timed from its answer until the change notice holding it arrives on the query app's \`/api/events\` (a dashboard's view; 0 when it arrived before the answer).`,
    `- Cross-session reads: ${cfg.reads.sessions.toLocaleString('en-US')} finished sessions × ${cfg.reads.testsPerSession.toLocaleString('en-US')} tests published raw (100 sessions interleaved at a time, ${cfg.reads.resultsPerEvent} results per event) and folded into the views and the SQLite read models; then ${cfg.reads.requests} sequential requests of list-sessions (pages all along the list), get-test-history (random tests) and a fifth as many get-flaky-tests (window 30) over NATS request/reply. Reference: a trivial responder in its own process with a reply of a list page's size. RSS of the projector and the query app before and after the fold.`,
    `- get-session: ${cfg.rttRequests} sequential requests (plain JSON body) against finished sessions whose views the query app has cached (it drops a view when its change notice arrives), after a first read of each; the first reads (view from the KV bucket: two round trips) are a row of their own. Reference: a trivial responder in its own process with a reply of the same size (${rtt.replyBytes} B).`,
    '',
  ].join('\n');
  writeFileSync(join(root, 'bench', 'results.md'), md);
  out(`\nwrote ${join(root, 'bench', 'results.md')}`);
}

const watchdogSeconds = num('BENCH_TIMEOUT_SECONDS', 2400);
const watchdog = setTimeout(() => {
  out(`\n!!! benchmark step "${currentStep}" did not finish within ${watchdogSeconds} s overall; stopping everything`);
  void cleanup().then(() => process.exit(1));
}, watchdogSeconds * 1000);
watchdog.unref();

let exitCode = 0;
try {
  await main();
  if (failures.length > 0) {
    out(`\n!!! ${failures.length} CHECK(S) FAILED:`);
    for (const f of failures) out(`!!!   ${f}`);
    exitCode = 2;
  }
} catch (error) {
  out(`\n!!! benchmark step "${currentStep}" failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  for (const name of ['gateway', 'projector', 'query'] as const) {
    const app = apps[name];
    if (app) out(`--- ${name} log (tail)\n${app.proc.logs.slice(-3000)}`);
  }
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
