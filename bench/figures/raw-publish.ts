// Figure 1c: raw JetStream publishes, one at a time awaiting each ack: the reference for the ingest
// figures (what one write into the stream costs without MCP and the gateway).
import { cfg } from '../lib/config.js';
import { rawPublish, type RawPublish } from '../lib/raw-jetstream.js';
import type { Report } from '../lib/report.js';
import { out, step } from '../lib/run.js';
import { fmtMs, fmtRate } from '../lib/stats.js';
import type { System } from '../lib/system.js';
import type { HttpIngest } from './http-ingest.js';
import type { StdioIngest } from './stdio-ingest.js';

export async function rawPublishFigure(sys: System): Promise<RawPublish> {
  out('1c. Raw JetStream publish, one at a time awaiting each ack (reference)');
  const raw = await step('raw JetStream publish', () => rawPublish(sys, { inFlight: 1, warmupMs: 500, ms: cfg.rawPublishMs }));
  out(
    `  ${`raw publish, ${raw.bytes} B payload`.padEnd(34)} ${fmtRate(raw.rate, 'msgs/s').padStart(14)}   p50 ${fmtMs(raw.latency.p50).padStart(8)}   p99 ${fmtMs(raw.latency.p99).padStart(8)}`,
  );
  out();
  return raw;
}

export function rawPublishRows(report: Report, raw: RawPublish, http: HttpIngest, stdio: StdioIngest): void {
  const rate = (n: number) => fmtRate(n, 'calls/s');
  report.compare('1c HTTP ingest vs raw publish await-each', http.gateway.res.rate, raw.rate, rate, undefined, '(raw msgs/s)');
  report.compare('1c stdio ingest vs raw publish await-each', stdio.gateway.res.rate, raw.rate, rate, undefined, '(raw msgs/s)');
  report.add({ figure: '1c raw publish await-each, p50 / p99', value: `${fmtMs(raw.latency.p50)} / ${fmtMs(raw.latency.p99)}` });
}
