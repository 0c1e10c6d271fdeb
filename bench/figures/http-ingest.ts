// Figure 1a: record_test_outcome over Streamable HTTP, N MCP clients each its own MCP session, one call
// in flight each: through the gateway (each client its own pytest session, every result checked in
// get-session), beside the bare MCP SDK server answering with SSE and with JSON.
import { distEntry } from '../../test/harness/apps.js';
import { freePort, Proc } from '../../test/harness/processes.js';
import { cfg } from '../lib/config.js';
import { describeLoad, gatewayIngest, gatewayVsBareCostRows, ingestLoad, recordOutcome, serverCpu, startSession, type IngestSession } from '../lib/ingest.js';
import { closeHttpClient, httpClient, type HttpMcpClient, type LoadResult } from '../lib/load.js';
import type { CpuWindow } from '../lib/proc-stats.js';
import type { Report } from '../lib/report.js';
import { onCleanup, out, step } from '../lib/run.js';
import { fmtRate, fmtUs } from '../lib/stats.js';
import type { System } from '../lib/system.js';

/** Rounds of gateway then bare SDK server (SSE) in one run: the target must hold in each. */
const ROUNDS = 3;

interface Round {
  gateway: { res: LoadResult; sessions: IngestSession[]; verified: boolean };
  bareSse: LoadResult;
}

export interface HttpIngest {
  rounds: Round[];
  /** The last round's gateway run: the other figures' reference. */
  gateway: Round['gateway'];
  bareJson: LoadResult;
}

export async function httpIngestFigure(sys: System): Promise<HttpIngest> {
  out(`1a. MCP ingest of record_test_outcome over Streamable HTTP, ${cfg.clients} clients, each its own MCP session and pytest session; ${ROUNDS} rounds`);
  const rounds: Round[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const gateway = await gatewayIngest(sys, `HTTP ingest (round ${round})`, 'gateway (+ projector, query)', () =>
      httpIngest([sys.apps.gateway.mcpUrl], sys.cpuWindow(sys.apps.gateway.pid, true), true),
    );
    await sys.recordRss(`after HTTP ingest round ${round}`);
    const bareSse = await step(`HTTP ingest (round ${round}), bare SDK server (SSE answers)`, () => bareHttp(sys, false));
    describeLoad('bare SDK, Express, SSE answers', bareSse);
    rounds.push({ gateway, bareSse });
  }
  const bareJson = await step('HTTP ingest, bare SDK server (JSON answers)', () => bareHttp(sys, true));
  describeLoad('bare SDK, Express, JSON answers', bareJson);
  out();
  return { rounds, gateway: rounds.at(-1)!.gateway, bareJson };
}

export function httpIngestRows(report: Report, { rounds, gateway, bareJson }: HttpIngest): void {
  rounds.forEach(({ gateway, bareSse }, i) => {
    const figure = `1a HTTP ingest, round ${i + 1}`;
    report.compare(`${figure}, calls/s`, gateway.res.rate, bareSse.rate, (n) => fmtRate(n, 'calls/s'), { kind: 'higher', bound: 1 }, '(bare SDK, SSE)');
    report.check(`${figure}, acked = stored`, gateway.verified, 'no loss');
  });
  gatewayVsBareCostRows(report, `1a HTTP ingest, round ${rounds.length}`, gateway.res, rounds.at(-1)!.bareSse, '(bare SDK, SSE)');
  report.compare('1a HTTP ingest, calls/s vs JSON-mode bare', gateway.res.rate, bareJson.rate, (n) => fmtRate(n, 'calls/s'), undefined, '(bare SDK, JSON)');
  report.compare('1a HTTP ingest, server CPU/call vs JSON-mode bare', serverCpu(gateway.res), serverCpu(bareJson), fmtUs, undefined, '(bare SDK, JSON)');
}

/**
 * `cfg.clients` MCP clients spread in turn over the servers at `urls`, one call in flight each; through
 * gateways, each writes a pytest session of its own. `cpu` is taken over the measured window.
 */
export async function httpIngest(urls: URL[], cpu: CpuWindow, throughGateway: boolean): Promise<{ res: LoadResult; sessions: IngestSession[] }> {
  const clients: HttpMcpClient[] = [];
  try {
    for (let i = 0; i < cfg.clients; i++) clients.push(await httpClient(urls[i % urls.length]!));
    const sessions = throughGateway ? await Promise.all(clients.map(({ client }) => startSession(client))) : [];
    const res = await ingestLoad(cfg.clients, cpu, (lane, i) => recordOutcome(clients[lane]!.client, `tests/test_bench.py::test_${i}`, sessions[lane]));
    return { res, sessions };
  } finally {
    await Promise.all(clients.map(closeHttpClient));
  }
}

/** The reference: the bare MCP SDK server over Streamable HTTP, answering with SSE or (`json`) plain JSON. */
async function bareHttp(sys: System, json: boolean): Promise<LoadResult> {
  const port = await freePort();
  const proc = Proc.spawn(`bare-http-${json ? 'json' : 'sse'}`, process.execPath, [distEntry('bench/bare-http-server.js')], {
    BARE_PORT: String(port),
    BARE_JSON_RESPONSE: json ? '1' : '0',
  });
  onCleanup(proc.name, () => proc.stop());
  const [, url] = await proc.waitFor(/bare MCP server at (\S+)/);
  try {
    return (await httpIngest([new URL(url!)], sys.cpuWindow(proc.child.pid!, false), false)).res;
  } finally {
    await proc.stop();
  }
}
