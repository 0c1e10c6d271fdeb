// CPU profile of a server under the benchmark's ingest load, summarised.
// Usage: node dist/bench/profile.js <http|stdio|bare-http|bare-http-json|bare-stdio|projector|query> [seconds=10] [dir=/tmp/gwprof]
// http/stdio: the gateway (with nats-server, projector and query up) run as
//   node --cpu-prof --cpu-prof-dir=<dir> dist/apps/gateway/src/{main,main.stdio}.js
// under 32 MCP clients (HTTP) or one client with 32 calls in flight (stdio); the HTTP gateway is stopped
// with SIGINT, the stdio one by closing its stdin, so the profile is written; then it is summarised.
// projector: a backlog of PROFILE_BACKLOG_SESSIONS (default 1000) × 100 events is published while the
// projector is stopped, then the projector runs with --cpu-prof until it has folded it all.
// query: the query app runs with --cpu-prof answering sequential get-session requests for `seconds`.
// PROFILE_APP=projector with http/stdio profiles the projector folding that load live, instead of the gateway.
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NatsServer } from '../test/harness/nats-server.js';
import { freePort, Proc, sleep } from '../test/harness/processes.js';
import { App, distEntry } from '../test/harness/apps.js';
import { summarise } from './cpuprofile-summary.js';
import { callOk, closeHttpClient, httpClient, runLoad, stdioClient, type HttpMcpClient } from './lib/load.js';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { SESSIONS_BUCKET } from '#contracts';
import { projectorFoldedThrough } from '#nats';
import { BACKLOG_OWNER, buildBacklog, publishAll } from './lib/backlog.js';
import { START_ARGS } from './lib/ingest.js';
import { childPids, cpuMicros, CpuWindow, rssKiB } from './lib/proc-stats.js';
import { fmtMs, fmtRate, Latencies } from './lib/stats.js';

const [mode = 'http', secondsArg = '10', dir = '/tmp/gwprof'] = process.argv.slice(2);
const seconds = Number(secondsArg) || 10;
const lanes = Number(process.env.BENCH_CLIENTS) || 32;
mkdirSync(dir, { recursive: true });
// PROFILE_NODE_FLAGS replaces the profiling flags (e.g. "--trace-gc"); the server's output then goes to <dir>/<mode>.log.
const profFlags = process.env.PROFILE_NODE_FLAGS ? process.env.PROFILE_NODE_FLAGS.split(' ') : ['--cpu-prof', `--cpu-prof-dir=${dir}`];
const profiling = profFlags.includes('--cpu-prof');
const liveProjector = process.env.PROFILE_APP === 'projector';
const gatewayFlags = liveProjector ? [] : profFlags;
const stops: (() => Promise<unknown>)[] = [];
const before = new Set(readdirSync(dir));

try {
  if (mode === 'projector' || mode === 'query') {
    await (mode === 'projector' ? profileProjector() : profileQuery());
    process.exit(0);
  }
  let pid: number;
  let call: (lane: number, i: number) => Promise<void>;
  let finish: () => Promise<unknown>;
  const needsSystem = mode === 'http' || mode === 'stdio';
  let env: Record<string, string> = {};
  let projector: App | undefined;
  if (needsSystem) {
    const nats = await NatsServer.start();
    stops.push(() => nats.dispose());
    env = { NATS_URL: nats.url };
    projector = await App.start('projector', env, liveProjector ? profFlags : []);
    const query = await App.start('query', env);
    stops.push(
      () => projector!.stop(),
      () => query.stop(),
    );
  }
  if (mode === 'http' || mode === 'bare-http' || mode === 'bare-http-json') {
    let url: URL;
    let stop: () => Promise<unknown>;
    if (mode === 'http') {
      const gateway = await App.start('gateway', env, gatewayFlags);
      stops.push(() => gateway.stop());
      ({ pid } = gateway);
      url = gateway.mcpUrl;
      stop = async () => {
        await gateway.stop('SIGINT');
        writeFileSync(join(dir, `${mode}.log`), gateway.proc.logs);
      };
    } else {
      const proc = Proc.spawn('bare-http', process.execPath, [...profFlags, distEntry('bench/bare-http-server.js')], {
        BARE_PORT: String(await freePort()),
        BARE_JSON_RESPONSE: mode === 'bare-http-json' ? '1' : '0',
      });
      stops.push(() => proc.stop());
      url = new URL((await proc.waitFor(/bare MCP server at (\S+)/))[1]!);
      pid = proc.child.pid!;
      stop = async () => {
        await proc.stop('SIGINT');
        writeFileSync(join(dir, `${mode}.log`), proc.logs);
      };
    }
    const clients: HttpMcpClient[] = [];
    for (let i = 0; i < lanes; i++) clients.push(await httpClient(url));
    if (mode === 'http') await Promise.all(clients.map(({ client }) => callOk(client, 'record_session_start', START_ARGS)));
    call = async (lane, i) =>
      void (await callOk(clients[lane]!.client, 'record_test_outcome', { nodeid: `tests/test_p.py::test_${i}`, outcome: 'passed', duration: 0.001 }));
    finish = async () => {
      await Promise.all(clients.map(closeHttpClient));
      await stop();
    };
  } else {
    const entry = mode === 'stdio' ? distEntry('apps/gateway/src/main.stdio.js') : distEntry('bench/bare-stdio-server.js');
    const mcp = await stdioClient(entry, env, mode === 'stdio' ? gatewayFlags : profFlags);
    pid = mcp.pid;
    if (mode === 'stdio') await callOk(mcp.client, 'record_session_start', START_ARGS);
    let counter = 0;
    call = async () =>
      void (await callOk(mcp.client, 'record_test_outcome', { nodeid: `tests/test_p.py::test_${counter++}`, outcome: 'passed', duration: 0.001 }));
    finish = async () => {
      await mcp.client.close();
      // The transport ends stdin and waits for the child; give the profile time to be written.
      for (let i = 0; i < 100 && existsProcess(pid); i++) await new Promise((r) => setTimeout(r, 50));
    };
  }
  const res = await runLoad({ lanes, call, warmupMs: 1000, measureMs: seconds * 1000, cpu: new CpuWindow({ server: pid }) });
  let rss = Number.NaN;
  try {
    rss = rssKiB(pid) / 1024;
  } catch {
    // gone
  }
  await finish();
  process.stdout.write(
    `${mode}: ${fmtRate(res.rate, 'calls/s')}, p50 ${fmtMs(res.latency.p50)}, p99 ${fmtMs(res.latency.p99)}, ` +
      `server CPU ${(res.cpu.micros.server! / res.calls).toFixed(0)} µs/call, server RSS at the end of the load ${rss.toFixed(0)} MiB, errors ${res.errors.length}\n\n`,
  );
  if (liveProjector) await projector!.stop('SIGINT');
  if (profiling) printNewestProfile();
} catch (error) {
  process.stderr.write(`profile failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
process.exit(process.exitCode ?? 0);

async function profileProjector(): Promise<void> {
  const { natsPid, env, js, jsm } = await scratchNats();
  await (await App.start('projector', env)).stop(); // provisions the stream, bucket and consumer
  const backlog = buildBacklog(Number(process.env.PROFILE_BACKLOG_SESSIONS) || 1000, 100, Number(process.env.PROFILE_BACKLOG_CONCURRENT) || 100);
  const lastSeq = await publishAll(js, backlog.messages, 256, true);
  const kvBefore = (await jsm.streams.info(`KV_${SESSIONS_BUCKET}`)).state.last_seq;
  const projector = await App.start('projector', env, profFlags);
  stops.push(() => projector.stop());
  const c0 = cpuMicros(natsPid);
  const p0 = cpuMicros(projector.pid);
  const t0 = performance.now();
  await folded(jsm, lastSeq);
  const seconds = (performance.now() - t0) / 1000;
  const n = backlog.messages.length;
  const writes = (await jsm.streams.info(`KV_${SESSIONS_BUCKET}`)).state.last_seq - kvBefore;
  process.stdout.write(
    `projector: ${n} events in ${seconds.toFixed(2)} s = ${fmtRate(n / seconds, 'events/s')}; CPU per event: projector ${((cpuMicros(projector.pid) - p0) / n).toFixed(1)} µs, ` +
      `nats-server ${((cpuMicros(natsPid) - c0) / n).toFixed(1)} µs; ${writes} view writes (${(n / writes).toFixed(1)} events per write)\n\n`,
  );
  await projector.stop('SIGINT');
  printNewestProfile();
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}

async function profileQuery(): Promise<void> {
  const { natsPid, env, nc, js, jsm } = await scratchNats();
  const projector = await App.start('projector', env);
  stops.push(() => projector.stop());
  const backlog = buildBacklog(1000, 100, 1000);
  const lastSeq = await publishAll(js, backlog.messages, 256, true);
  await folded(jsm, lastSeq);
  const query = await App.start('query', env, profFlags);
  stops.push(() => query.stop());
  const ask = async (i: number) => {
    const reply = await nc.request('get-session', JSON.stringify({ session_id: backlog.sessionIds[i % backlog.sessionIds.length], owner: BACKLOG_OWNER }), {
      timeout: 5000,
    });
    if (!reply.json<{ response?: unknown }>().response) throw new Error(`get-session failed: ${reply.string()}`);
  };
  for (let i = 0; i < 500; i++) await ask(i);
  const latency = new Latencies();
  const q0 = cpuMicros(query.pid);
  const c0 = cpuMicros(natsPid);
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < seconds * 1000) {
    const t = performance.now();
    await ask(n++);
    latency.add(performance.now() - t);
  }
  const elapsed = (performance.now() - t0) / 1000;
  process.stdout.write(
    `query: ${n} sequential get-session in ${elapsed.toFixed(1)} s = ${fmtRate(n / elapsed, 'req/s')}, p50 ${fmtMs(latency.p50)}, p99 ${fmtMs(latency.p99)}, ` +
      `p99.9 ${fmtMs(latency.percentile(99.9))}; CPU per request: query ${((cpuMicros(query.pid) - q0) / n).toFixed(0)} µs, nats-server ${((cpuMicros(natsPid) - c0) / n).toFixed(0)} µs\n\n`,
  );
  await query.stop('SIGINT');
  printNewestProfile();
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}

function existsProcess(p: number): boolean {
  try {
    process.kill(p, 0);
    return true;
  } catch {
    return false;
  }
}

/** A nats-server of its own for one profile run, with a client. */
async function scratchNats() {
  const nats = await NatsServer.start();
  stops.push(() => nats.dispose());
  const nc = await connect({ servers: nats.url, noAsyncTraces: true });
  stops.push(() => nc.close());
  return {
    natsPid: childPids(process.pid, 'nats-server')[0]!,
    env: { NATS_URL: nats.url },
    nc,
    js: jetstream(nc),
    jsm: await jetstreamManager(nc),
  };
}

/** Resolves once the projector has acknowledged every event up to `lastSeq`. */
async function folded(jsm: JetStreamManager, lastSeq: number): Promise<void> {
  while (!(await projectorFoldedThrough(jsm, lastSeq))) await sleep(50);
}

function printNewestProfile(): void {
  const written = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!written[0]) throw new Error(`no .cpuprofile written to ${dir}`);
  process.stdout.write(`${summarise(written[0], 25)}\n`);
}
