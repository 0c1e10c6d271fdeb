// Figure 4: the apps' resident memory (VmRSS) at each stage of the run, from idle to the end.
import type { Report } from '../lib/report.js';
import { out } from '../lib/run.js';
import { fmtMiB } from '../lib/stats.js';
import type { System } from '../lib/system.js';
import type { StdioIngest } from './stdio-ingest.js';

export async function rssFigure(sys: System, stdio: StdioIngest): Promise<void> {
  await sys.recordRss('end');
  out('4. RSS (VmRSS)');
  out(`  ${'stage'.padEnd(52)} ${'gateway'.padStart(10)} ${'projector'.padStart(10)} ${'query'.padStart(10)} ${'events in stream'.padStart(17)}`);
  for (const r of sys.rss) {
    out(
      `  ${r.stage.padEnd(52)} ${fmtMiB(r.gateway).padStart(10)} ${fmtMiB(r.projector).padStart(10)} ${fmtMiB(r.query).padStart(10)} ${r.events.toLocaleString('en-US').padStart(17)}`,
    );
  }
  out(
    `  stdio gateway after its ingest run: ${fmtMiB(stdio.gateway.rss)} (${stdio.gateway.sessions[0]!.acked.toLocaleString('en-US')} results in one session)`,
  );
  out();
}

export function rssRows(report: Report, sys: System): void {
  const first = sys.rss[0]!;
  const last = sys.rss[sys.rss.length - 1]!;
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
}
