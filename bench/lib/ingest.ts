// What the ingest figures share (1a HTTP, 1b stdio, 5 batches): pytest sessions written through the
// gateway, the load's summary, and the check that every acknowledged result was stored exactly once.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { cfg } from './config.js';
import { BACKLOG_OWNER } from './backlog.js';
import { callOk, runLoad, type LoadResult } from './load.js';
import type { CpuWindow } from './proc-stats.js';
import { checkFailed, out, step } from './run.js';
import type { Report } from './report.js';
import { fmtMs, fmtRate, fmtUs } from './stats.js';
import type { BenchNats, StoreCounters } from './system.js';
import { eventually } from '../../test/harness/processes.js';

export const START_ARGS = { environment: { os: 'Linux', python_version: '3.12.3' }, project: 'bench' };
export const outcomeArgs = (nodeid: string) => ({ nodeid, outcome: 'passed', duration: 0.001 });

/** A pytest session being written: results acknowledged so far, and the highest sequence among them. */
export interface IngestSession {
  id: string;
  acked: number;
  lastSeq: number;
}

export async function startSession(client: Client): Promise<IngestSession> {
  return { id: (await callOk(client, 'record_session_start', START_ARGS)).session_id as string, acked: 0, lastSeq: 0 };
}

/** Counts `results` acknowledged at stream sequence `seq`. */
export function acknowledge(session: IngestSession, results: number, seq: number): void {
  session.acked += results;
  session.lastSeq = Math.max(session.lastSeq, seq);
}

/** record_test_outcome of a new test; into a pytest `session` (the gateway's), the answer must be a new write, counted. */
export async function recordOutcome(client: Client, nodeid: string, session?: IngestSession): Promise<void> {
  const answer = await callOk(client, 'record_test_outcome', outcomeArgs(nodeid));
  if (!session) return;
  if (answer.duplicate !== false || typeof answer.seq !== 'number') throw new Error(`unexpected answer ${JSON.stringify(answer)}`);
  acknowledge(session, 1, answer.seq);
}

/** `lanes` loops of `call`, one call in flight each, over the run's warm-up and measured window. */
export const ingestLoad = (lanes: number, cpu: CpuWindow, call: (lane: number, i: number) => Promise<void>): Promise<LoadResult> =>
  runLoad({ lanes, warmupMs: cfg.warmupMs, measureMs: cfg.measureMs, cpu, call });

/** CPU of the server (the process under load) per call, µs. */
export const serverCpu = (res: LoadResult) => res.cpu.micros.server! / res.calls;

/** Prints a load's rate, latencies and CPU per call; failed calls fail the run's checks. */
export function describeLoad(label: string, res: LoadResult): void {
  const perCall = (name: string) => fmtUs(res.cpu.micros[name]! / res.calls);
  const others = Object.keys(res.cpu.micros)
    .filter((k) => k !== 'server')
    .map((k) => `${k} ${perCall(k)}`)
    .join(', ');
  // Without one server under load (several gateways), every process is among the others.
  const server = 'server' in res.cpu.micros ? `   server CPU ${perCall('server')}/call` : '';
  out(
    `  ${label.padEnd(34)} ${fmtRate(res.rate, 'calls/s').padStart(14)}   p50 ${fmtMs(res.latency.p50).padStart(8)}   p99 ${fmtMs(res.latency.p99).padStart(8)}${server}`,
  );
  out(
    `  ${''.padEnd(34)} (${res.calls} calls in ${res.seconds.toFixed(1)} s; CPU per call elsewhere: ${others}; machine busy ${(res.cpu.machineBusy * 100).toFixed(0)}%)`,
  );
  if (res.errors.length) {
    out(`  !!! ${res.errors.length} FAILED CALLS in ${label}; first: ${res.errors[0]}`);
    checkFailed(`${label}: ${res.errors.length} calls failed (${res.errors[0]})`);
  }
}

/** The report's rows of an ingest through the gateway beside the bare MCP SDK server: the gateway must keep up with it. */
/** `bound`: the target, calls/s as a multiple of the bare server's. */
export function gatewayVsBareRows(report: Report, figure: string, gateway: LoadResult, bare: LoadResult, referenceLabel: string, bound: number): void {
  report.compare(`${figure}, calls/s`, gateway.rate, bare.rate, (n) => fmtRate(n, 'calls/s'), { kind: 'higher', bound }, referenceLabel);
  gatewayVsBareCostRows(report, figure, gateway, bare, referenceLabel);
}

/** CPU per call and latency beside the bare server's. */
export function gatewayVsBareCostRows(report: Report, figure: string, gateway: LoadResult, bare: LoadResult, referenceLabel: string): void {
  report.compare(`${figure}, server CPU/call`, serverCpu(gateway), serverCpu(bare), fmtUs, undefined, referenceLabel);
  report.compare(`${figure}, p50`, gateway.latency.p50, bare.latency.p50, fmtMs, undefined, referenceLabel);
  report.compare(`${figure}, p99`, gateway.latency.p99, bare.latency.p99, fmtMs, undefined, referenceLabel);
}

/**
 * An ingest through the gateway (`name`: "HTTP ingest", …): the load, then every session's view
 * checked against its acknowledged results, and how the store grew (results per event, events per view write).
 * `described` prints more about the load before the check.
 */
export async function gatewayIngest<T extends { res: LoadResult; sessions: IngestSession[] }>(
  sys: BenchNats,
  name: string,
  label: string,
  run: () => Promise<T>,
  described: (result: T) => void = () => undefined,
): Promise<T & { verified: boolean }> {
  const before = await sys.storeCounters();
  const result = await step(`${name} through the gateway`, run);
  describeLoad(label, result.res);
  described(result);
  const verified = await step(`verify ${name}`, () => verifyStored(sys, name, result.sessions));
  // Each session's start is an acknowledged call too.
  describeStore(
    before,
    await sys.storeCounters(),
    result.sessions.reduce((calls, session) => calls + session.acked + 1, 0),
  );
  return { ...result, verified };
}

/** Waits until each session's view holds its last acknowledged write, then compares counts.total with the acks. */
async function verifyStored(sys: BenchNats, label: string, sessions: IngestSession[]): Promise<boolean> {
  let acked = 0;
  let stored = 0;
  const wrong: string[] = [];
  for (const session of sessions) {
    acked += session.acked;
    const view = await eventually(
      async () => {
        const { response } = await sys.getSession({ session_id: session.id, owner: BACKLOG_OWNER, min_seq: session.lastSeq });
        return response && response.last_seq >= session.lastSeq ? response : undefined;
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
  checkFailed(`${label}: stored results differ from acknowledged writes (${acked} acked, ${stored} stored)`);
  return false;
}

function describeStore(before: StoreCounters, after: StoreCounters, results: number): void {
  const events = after.events - before.events;
  const writes = after.viewWrites - before.viewWrites;
  out(
    `  store: ${events.toLocaleString('en-US')} events for ${results.toLocaleString('en-US')} acknowledged calls (${(results / events).toFixed(1)} results per event, group commit); ` +
      `${writes.toLocaleString('en-US')} view writes (${(events / writes).toFixed(1)} events folded per view write)`,
  );
}

/** The report's notes on figures 1a and 1b. */
export const ingestNotes = (): string[] => [
  `- Ingest: ${cfg.clients} MCP SDK clients over Streamable HTTP (each its own MCP session and pytest session, one call in flight each), ` +
    `or one stdio client with ${cfg.clients} calls in flight into one session; ${cfg.warmupMs / 1000} s warm-up, ${cfg.measureMs / 1000} s measured. ` +
    'The gateway runs with the projector and the query app up. Server CPU/call is utime+stime of the server process over the window, per call.',
  "- Reference servers: the MCP SDK's `McpServer` with one do-nothing `record_test_outcome` tool, over `createMcpExpressApp()` + stateful " +
    "`StreamableHTTPServerTransport` (the SDK examples' pattern; SSE answers by default, JSON with `enableJsonResponse`), or `StdioServerTransport`.",
];
