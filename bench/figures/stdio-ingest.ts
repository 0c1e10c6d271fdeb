// Figure 1b: record_test_outcome over stdio, one MCP client with N calls in flight into one session:
// the gateway (one pytest session, every result checked in get-session) beside the bare MCP SDK server.
import { distEntry } from '../../test/harness/apps.js';
import { cfg } from '../lib/config.js';
import { describeLoad, gatewayIngest, gatewayVsBareRows, ingestLoad, recordOutcome, startSession, type IngestSession } from '../lib/ingest.js';
import { stdioClient, type LoadResult } from '../lib/load.js';
import { rssKiB } from '../lib/proc-stats.js';
import type { Report } from '../lib/report.js';
import { onCleanup, out, step } from '../lib/run.js';
import type { System } from '../lib/system.js';

export interface StdioIngest {
  /** `rss`: the stdio gateway's at the end of its run (KiB). */
  gateway: { res: LoadResult; sessions: IngestSession[]; verified: boolean; rss: number };
  bare: LoadResult;
}

export async function stdioIngestFigure(sys: System): Promise<StdioIngest> {
  out(`1b. MCP ingest of record_test_outcome over stdio, one client, ${cfg.clients} calls in flight into one session`);
  const gateway = await gatewayIngest(sys, 'stdio ingest', 'gateway stdio (+ projector, query)', () =>
    stdioIngest(sys, distEntry('apps/gateway/src/main.stdio.js'), sys.env, true),
  );
  await sys.recordRss('after stdio ingest');
  const bare = await step('stdio ingest, bare SDK server', async () => (await stdioIngest(sys, distEntry('bench/bare-stdio-server.js'), {}, false)).res);
  describeLoad('bare SDK, stdio', bare);
  out();
  return { gateway, bare };
}

export function stdioIngestRows(report: Report, { gateway, bare }: StdioIngest): void {
  gatewayVsBareRows(report, '1b stdio ingest', gateway.res, bare, '(bare SDK)', 0.5);
  report.check('1b stdio ingest, acked = stored', gateway.verified, 'no loss');
}

/** `node <entry>` as an MCP server over stdio, `cfg.clients` calls in flight; through the gateway, into one pytest session. */
async function stdioIngest(sys: System, entry: string, env: Record<string, string>, throughGateway: boolean) {
  const mcp = await stdioClient(entry, env);
  onCleanup(`stdio ${entry}`, () => mcp.client.close());
  try {
    const sessions = throughGateway ? [await startSession(mcp.client)] : [];
    let counter = 0;
    const res = await ingestLoad(cfg.clients, sys.cpuWindow(mcp.pid, throughGateway), () =>
      recordOutcome(mcp.client, `tests/test_bench.py::test_${counter++}`, sessions[0]),
    );
    let rss = Number.NaN;
    try {
      rss = rssKiB(mcp.pid);
    } catch {
      // gone
    }
    if (res.errors.length) out(`  stdio server stderr (tail):\n${mcp.stderr().slice(-2000)}`);
    return { res, sessions, rss };
  } finally {
    await mcp.client.close();
  }
}
