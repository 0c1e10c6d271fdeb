// Figure 4: the apps' resident memory (VmRSS) at each stage of the run, from idle to the end.
import type { Report } from '../lib/report.js';
import { out } from '../lib/run.js';
import { fmtMiB } from '../lib/stats.js';
import type { System } from '../lib/system.js';
import type { StdioIngest } from './stdio-ingest.js';

export async function rssFigure(sys: System, stdio: StdioIngest): Promise<void> {
  await sys.recordRss('end');
  sys.stopRssSampling();
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

/** Growth allowed from the first half's peak to the second half's for RSS to count as flat. */
const FLAT = 1.1;

interface Peak {
  kib: number;
  /** The bench step it was taken in. */
  step: string;
}

/** Each app's peak RSS over the first and the second half of its samples (the projector: of the process running at the end). */
function halvesPeaks(sys: System): Record<'gateway' | 'projector' | 'query', { first: Peak; second: Peak; samples: number }> {
  const lastProjector = sys.apps.projector.pid;
  const peaks = (samples: { kib: number; step: string }[]) => {
    const running = samples.filter(({ kib }) => Number.isFinite(kib));
    const half = Math.floor(running.length / 2);
    const peak = (part: Peak[]) => part.reduce((top, sample) => (sample.kib > top.kib ? sample : top), { kib: -Infinity, step: 'no samples' });
    return { first: peak(running.slice(0, half)), second: peak(running.slice(half)), samples: running.length };
  };
  const of = (app: 'gateway' | 'projector' | 'query', samples = sys.rssSamples) => samples.map((sample) => ({ kib: sample[app], step: sample.step }));
  return {
    gateway: peaks(of('gateway')),
    projector: peaks(
      of(
        'projector',
        sys.rssSamples.filter((sample) => sample.projectorPid === lastProjector),
      ),
    ),
    query: peaks(of('query')),
  };
}

export function rssRows(report: Report, sys: System): void {
  for (const [app, { first, second, samples }] of Object.entries(halvesPeaks(sys))) {
    const flat = second.kib <= FLAT * first.kib;
    report.add({
      figure: `4 ${app} RSS peak, first half → second half of the bench`,
      value: `${fmtMiB(first.kib)} → ${fmtMiB(second.kib)}`,
      reference: `${samples} samples ${app === 'projector' ? 'from its restart in figure 2' : 'from the start'}; peaks in: ${first.step} / ${second.step}`,
      target: `flat (≤ +${Math.round((FLAT - 1) * 100)} %)`,
      met: flat ? 'yes' : 'NO',
    });
  }
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
