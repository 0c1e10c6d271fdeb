// Figure 5: outcomes recorded per second through record_test_outcomes (what the pytest plugin and the
// importers send), beside raw JetStream publishes with 256 in flight.
import { LIMITS } from '#contracts';
import { cfg } from '../lib/config.js';
import { acknowledge, gatewayIngest, ingestLoad, startSession, type IngestSession } from '../lib/ingest.js';
import { callOk, closeHttpClient, httpClient, type HttpMcpClient, type LoadResult } from '../lib/load.js';
import { rawPublish, type RawPublish } from '../lib/raw-jetstream.js';
import type { Report } from '../lib/report.js';
import { out, step } from '../lib/run.js';
import { fmtRate } from '../lib/stats.js';
import type { System } from '../lib/system.js';

const BATCH = LIMITS.batchOutcomes;

export interface BatchIngest {
  /** Outcomes acknowledged per second. */
  rate: number;
  verified: boolean;
  raw: RawPublish;
}

export async function batchIngestFigure(sys: System): Promise<BatchIngest> {
  out(`5. CI ingest: record_test_outcomes batches over Streamable HTTP, ${cfg.batchClients} clients, each its own pytest session`);
  const raw = await step('raw JetStream publish, 256 in flight', () => rawPublish(sys, { inFlight: 256, warmupMs: 0, ms: cfg.rawPublishMs }));
  out(`  ${`raw publish, 256 in flight, ${raw.bytes} B`.padEnd(34)} ${fmtRate(raw.rate, 'msgs/s').padStart(14)}   (reference)`);
  const batch = await gatewayIngest(
    sys,
    'batch ingest',
    `gateway, batches of ${BATCH}`,
    () => batchIngest(sys),
    ({ res }) => out(`  = ${fmtRate(res.rate * BATCH, 'outcomes/s')}`),
  );
  out();
  return { rate: batch.res.rate * BATCH, verified: batch.verified, raw };
}

export function batchIngestRows(report: Report, batch: BatchIngest): void {
  report.compare(
    '5 batch ingest, outcomes/s',
    batch.rate,
    batch.raw.rate,
    (n) => fmtRate(n, '/s'),
    { kind: 'higher', bound: 0.5 },
    '(raw one-result msgs, 256 in flight)',
  );
  report.check('5 batch ingest, acked = stored', batch.verified, 'no loss');
}

export const batchIngestNote = (): string =>
  `- CI ingest: ${cfg.batchClients} MCP SDK clients over Streamable HTTP, each its own pytest session, each sending record_test_outcomes calls of ${BATCH} new outcomes (one call in flight each); ` +
  'outcomes acknowledged per second, every one checked in get-session afterwards. Reference: one-result events published raw to JetStream with 256 publishes in flight.';

/**
 * `cfg.batchClients` MCP clients over Streamable HTTP, each its own pytest session, each sending full
 * record_test_outcomes batches of new outcomes, one call in flight per client.
 */
async function batchIngest(sys: System): Promise<{ res: LoadResult; sessions: IngestSession[] }> {
  const clients: HttpMcpClient[] = [];
  try {
    for (let i = 0; i < cfg.batchClients; i++) clients.push(await httpClient(sys.apps.gateway.mcpUrl, 'bench-batch'));
    const sessions = await Promise.all(clients.map(({ client }) => startSession(client)));
    const res = await ingestLoad(cfg.batchClients, sys.cpuWindow(sys.apps.gateway.pid, true), async (lane, i) => {
      const outcomes = Array.from({ length: BATCH }, (_, k) => ({ nodeid: `tests/test_ci.py::test_${i}_${k}`, outcome: 'passed', duration: 0.001 }));
      const answer = await callOk(clients[lane]!.client, 'record_test_outcomes', { session_id: sessions[lane]!.id, outcomes });
      if (answer.recorded !== BATCH) throw new Error(`unexpected answer ${JSON.stringify(answer)}`);
      acknowledge(sessions[lane]!, BATCH, answer.seq as number);
    });
    return { res, sessions };
  } finally {
    await Promise.all(clients.map(closeHttpClient));
  }
}
