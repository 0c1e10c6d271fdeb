// Figure 10: one agent recording its results one call at a time, waiting for each answer. Over stdio
// beside its floor: a do-nothing MCP SDK stdio server's round trip plus one JetStream publish awaited.
// Over Streamable HTTP, split into the gateway's stages as its GET /metrics counts them.
import { distEntry } from '../../test/harness/apps.js';
import { sample } from '../../test/harness/prometheus.js';
import { recordOutcome, startSession } from '../lib/ingest.js';
import { closeHttpClient, httpClient, stdioClient } from '../lib/load.js';
import { rawPublish } from '../lib/raw-jetstream.js';
import type { Report } from '../lib/report.js';
import { onCleanup, out, step } from '../lib/run.js';
import { fmtMs, type Latencies } from '../lib/stats.js';
import { timeRequests } from '../lib/requests.js';
import type { System } from '../lib/system.js';

const CALLS = 3000;
const WARMUP = 300;
/**
 * The gateway's stages, in the order a write passes them: `policy` holds validate, `handler` holds
 * queue, load, decide and publish; receive (the POST's body) comes before the gateway's total, send after.
 */
const STAGES = ['receive', 'policy', 'validate', 'handler', 'queue', 'load', 'decide', 'publish', 'audit', 'send'] as const;
/** How far the stages' sum (policy + handler) may be from the gateway's own total per call. */
const SUM_TOLERANCE = 0.05;

export interface CallBreakdown {
  stdio: Latencies;
  bareStdio: Latencies;
  rawPublish: Latencies;
  http: Latencies;
  /** Mean per record_test_outcome call (ms) of each stage, and of the gateway's total (arrival to answer). */
  stages: Record<(typeof STAGES)[number] | 'total', number>;
}

export async function callBreakdownFigure(sys: System): Promise<CallBreakdown> {
  out(`10. One agent, sequential record_test_outcome (${CALLS} calls after ${WARMUP}), each answer awaited`);
  const stdio = await step('sequential stdio, gateway', () => sequential(distEntry('apps/gateway/src/main.stdio.js'), sys.env, true));
  const bareStdio = await step('sequential stdio, bare SDK server', () => sequential(distEntry('bench/bare-stdio-server.js'), {}, false));
  const raw = await step('raw JetStream publish, one at a time', () => rawPublish(sys, { inFlight: 1, warmupMs: 500, ms: 3000 }));
  const { http, stages } = await step('sequential Streamable HTTP, with the gateway metrics', () => httpBreakdown(sys));
  const line = (label: string, latencies: Latencies) =>
    out(`  ${label.padEnd(40)} p50 ${fmtMs(latencies.p50).padStart(8)}   p99 ${fmtMs(latencies.p99).padStart(8)}`);
  line('gateway, stdio', stdio);
  line('bare SDK server, stdio', bareStdio);
  line('raw JetStream publish awaited', raw.latency);
  line('gateway, Streamable HTTP', http);
  out(`  where the gateway's time goes over HTTP (mean per call; handler holds queue, load, decide, publish):`);
  for (const stage of [...STAGES, 'total'] as const) out(`    ${stage.padEnd(10)} ${fmtMs(stages[stage]).padStart(8)}`);
  out();
  return { stdio, bareStdio, rawPublish: raw.latency, http, stages };
}

export function callBreakdownRows(report: Report, { stdio, bareStdio, rawPublish, http, stages }: CallBreakdown): void {
  const floor = bareStdio.p50 + rawPublish.p50;
  report.compare(
    '10 sequential stdio record_test_outcome, p50',
    stdio.p50,
    floor,
    fmtMs,
    { kind: 'lower', bound: 1.3 },
    '(bare SDK stdio p50 + raw publish p50)',
  );
  report.add({ figure: '10 … its floor: bare SDK stdio p50 + raw publish p50', value: `${fmtMs(bareStdio.p50)} + ${fmtMs(rawPublish.p50)}` });
  report.compare('10 sequential HTTP record_test_outcome, p50', http.p50, stages.total, fmtMs, undefined, "(the gateway's own mean, arrival to answer)");
  for (const stage of STAGES) {
    const share = `${((100 * stages[stage]) / stages.total).toFixed(0)} % of the gateway's ${fmtMs(stages.total)}`;
    report.add({ figure: `10 … stage ${stage}, mean per call`, value: fmtMs(stages[stage]), reference: share });
  }
  const sum = stages.policy + stages.handler;
  const within = Math.abs(sum - stages.total) <= SUM_TOLERANCE * stages.total;
  report.add({
    figure: "10 … stages policy + handler vs the gateway's total",
    value: fmtMs(sum),
    reference: fmtMs(stages.total),
    ratio: `${(sum / stages.total).toFixed(2)}×`,
    target: `within ${SUM_TOLERANCE * 100} %`,
    met: within ? 'yes' : 'NO',
  });
  const inner = stages.queue + stages.load + stages.decide + stages.publish;
  report.add({
    figure: '10 … write stages (queue + load + decide + publish) within handler',
    value: fmtMs(inner),
    reference: `${fmtMs(stages.handler)} (handler)`,
    ratio: `${(inner / stages.handler).toFixed(2)}×`,
    target: '≤ 1.0×',
    met: inner <= stages.handler ? 'yes' : 'NO',
  });
}

/** Latencies of CALLS sequential record_test_outcome calls to `node <entry>` over stdio (into one pytest session through the gateway). */
async function sequential(entry: string, env: Record<string, string>, throughGateway: boolean): Promise<Latencies> {
  const mcp = await stdioClient(entry, env);
  onCleanup(`stdio ${entry}`, () => mcp.client.close());
  try {
    const session = throughGateway ? await startSession(mcp.client) : undefined;
    let test = 0;
    return await timeRequests(CALLS, () => recordOutcome(mcp.client, `tests/test_seq.py::test_${test++}`, session), WARMUP);
  } finally {
    await mcp.client.close();
  }
}

/** Sequential calls over Streamable HTTP, and the gateway's stage histograms' growth over the timed calls, per call. */
async function httpBreakdown(sys: System): Promise<{ http: Latencies; stages: CallBreakdown['stages'] }> {
  const mcp = await httpClient(sys.apps.gateway.mcpUrl, 'bench-sequential');
  onCleanup('sequential HTTP client', () => closeHttpClient(mcp));
  try {
    const session = await startSession(mcp.client);
    const call = (i: number) => recordOutcome(mcp.client, `tests/test_seq_http.py::test_${i}`, session);
    for (let i = 0; i < WARMUP; i++) await call(CALLS + i);
    const before = await scrape(sys);
    const http = await timeRequests(CALLS, call);
    const after = await scrape(sys);
    const calls =
      after.count('mcp_pytest_tool_call_duration_seconds', { tool: 'record_test_outcome' }) -
      before.count('mcp_pytest_tool_call_duration_seconds', { tool: 'record_test_outcome' });
    if (calls !== CALLS) throw new Error(`the gateway counted ${calls} record_test_outcome calls, ${CALLS} were made`);
    const perCall = (name: string, labels: Record<string, string>) => (1000 * (after.sum(name, labels) - before.sum(name, labels))) / calls;
    const stages = Object.fromEntries(STAGES.map((stage) => [stage, perCall('mcp_pytest_call_stage_duration_seconds', { stage })])) as CallBreakdown['stages'];
    stages.total = perCall('mcp_pytest_tool_call_duration_seconds', { tool: 'record_test_outcome' });
    return { http, stages };
  } finally {
    await closeHttpClient(mcp);
  }
}

/** The gateway's histograms as /metrics shows them: `_sum` and `_count` of the series with these labels. */
async function scrape(sys: System) {
  const answer = await fetch(sys.apps.gateway.metricsUrl);
  if (!answer.ok) throw new Error(`GET ${sys.apps.gateway.metricsUrl.href}: ${answer.status} ${await answer.text()}`);
  const text = await answer.text();
  return {
    sum: (name: string, labels: Record<string, string>) => sample(text, `${name}_sum`, labels) ?? 0,
    count: (name: string, labels: Record<string, string>) => sample(text, `${name}_count`, labels) ?? 0,
  };
}
