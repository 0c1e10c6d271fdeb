// Figure 9: scaling. The same HTTP ingest as figure 1a (MCP clients spread over the gateways) and a
// projection backlog like figure 2, on one nats-server with one replica of each app (the reference),
// then on the 3-node cluster with 1, 2, 3 replicas of each app (gateways, projectors, query apps);
// each configuration a system of its own, with the CPU every process used per 10k outcomes or events.
import { EVENTS_STREAM } from '#contracts';
import { eventually } from '../../test/harness/processes.js';
import { System as AppSystem } from '../../test/harness/system.js';
import { buildBacklog, publishAll } from '../lib/backlog.js';
import { cfg } from '../lib/config.js';
import { gatewayIngest, type IngestSession } from '../lib/ingest.js';
import type { LoadResult } from '../lib/load.js';
import { CpuWindow } from '../lib/proc-stats.js';
import type { Report } from '../lib/report.js';
import { onCleanup, onError, out, step } from '../lib/run.js';
import { fmtMs, fmtRate, fmtRatio } from '../lib/stats.js';
import { BenchNats } from '../lib/system.js';
import { httpIngest } from './http-ingest.js';
import { checkViews } from './projection.js';

export interface ScalingRun {
  label: string;
  cluster: boolean;
  replicas: number;
  ingest: {
    res: LoadResult;
    verified: boolean;
    /** Events in the stream after the ingest (the stream was empty before), and the calls acknowledged in all. */
    events: number;
    outcomes: number;
    /** From the first write until every projector consumer had folded everything, and from the last write. */
    foldSeconds: number;
    lagMs: number;
    warnings: Warnings;
  };
  backlog: {
    events: number;
    /** Events folded per second, from the first projector being ready. */
    rate: number;
    /** µs of CPU per process, each projector's from its own start of work. */
    cpu: Record<string, number>;
    verified: boolean;
    warnings: Warnings;
  };
}

/** The projectors' logged warnings and errors (e.g. batches left to be redelivered), and the first of them. */
interface Warnings {
  count: number;
  first?: string;
}

function projectorWarnings(system: AppSystem): Warnings {
  const lines = system.projectors.flatMap((projector) => projector.proc.logs.split('\n').filter((line) => /\b(WARN|ERROR)\b/.test(line)));
  return { count: lines.length, first: lines[0]?.replace(/^.*?\b(WARN|ERROR)\b\s*/, '$1 ') };
}

const describeWarnings = ({ count, first }: Warnings) => (count > 0 ? `; the projectors logged ${count} warning(s), the first: ${first}` : '');

export async function scalingFigure(): Promise<ScalingRun[]> {
  out('9. Scaling: one nats-server with 1 replica of each app, then the 3-node cluster with 1…n replicas of each app');
  const configurations = [{ cluster: false, replicas: 1 }, ...Array.from({ length: cfg.scaling.replicas }, (_, i) => ({ cluster: true, replicas: i + 1 }))];
  onError(() => (current ? `--- scaling system logs (tail)\n${current.logs(40)}` : ''));
  const runs: ScalingRun[] = [];
  for (const configuration of configurations) runs.push(await scalingRun(configuration.cluster, configuration.replicas));
  describeCpu(runs);
  for (const line of extrapolation(runs)) out(`  ${line}`);
  out();
  return runs;
}

/** The system being measured: its apps' logs go with a failure (and it is stopped by the run's cleanup then). */
let current: AppSystem | undefined;

async function scalingRun(cluster: boolean, replicas: number): Promise<ScalingRun> {
  const label = `${cluster ? '3-node cluster' : 'one nats-server'}, ${replicas}× each app`;
  const t0 = performance.now();
  const system = await step(`scaling: start ${label}`, () => AppSystem.start({ cluster, gateways: replicas, projectors: replicas, queries: replicas }));
  current = system;
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= system.stop());
  onCleanup(`scaling system (${label})`, stop);
  out(`  ${label}: started in ${((performance.now() - t0) / 1000).toFixed(1)} s (NATS_URL ${system.natsUrl.split(',').length} server(s))`);
  const nats = new BenchNats(system.probe.nc, system.probe.jsm);
  const ingest = await ingestStage(system, nats, label);
  const backlog = await step(`scaling: backlog, ${label}`, () => backlogStage(system, nats));
  // Still all up at the end: the figures are this configuration's.
  natsPids(system);
  await stop();
  current = undefined;
  return { label, cluster, replicas, ingest, backlog };
}

/** Each process of the system by a name saying what it is: "gateway 2", "projector 1", "nats n3" (or "nats-server"). */
function processes(system: AppSystem, apps: readonly ('gateway' | 'projector' | 'query')[]): Record<string, number | undefined> {
  const pids: Record<string, number | undefined> = {};
  const lists = { gateway: system.gateways, projector: system.projectors, query: system.queries };
  for (const kind of apps) lists[kind].forEach((app, i) => (pids[`${kind} ${i + 1}`] = app.pid));
  return { ...pids, ...natsPids(system) };
}

/** The nats-servers' pids by name; each must be running: a node gone would leave a 2-node cluster measured as if it were three. */
function natsPids(system: AppSystem): Record<string, number> {
  const servers = system.natsServers;
  const pids: Record<string, number> = {};
  servers.forEach((server, i) => {
    const name = servers.length === 1 ? 'nats-server' : `nats n${i + 1}`;
    if (!server.pid) throw new Error(`${name} is not running; its log ends:\n${server.logs.slice(-3000)}`);
    pids[name] = server.pid;
  });
  return pids;
}

async function ingestStage(system: AppSystem, nats: BenchNats, label: string): Promise<ScalingRun['ingest']> {
  const cpu = new CpuWindow(processes(system, ['gateway', 'projector', 'query']));
  const urls = system.gateways.map((gateway) => gateway.mcpUrl);
  const run = async () => {
    const result = await httpIngest(urls, cpu, true);
    // Before the check reads every view: the time until folded is the projectors', not the check's.
    const consumers = await eventually(() => nats.projectorsFolded(), 120_000, 'the projectors to fold the ingest');
    return { ...result, consumers, foldedAt: Date.now() };
  };
  const { res, sessions, verified, consumers, foldedAt } = await gatewayIngest(nats, `scaling ingest (${label})`, `${system.gateways.length} gateway(s)`, run);
  // The stream was empty before the ingest: its first and last messages are the first and last writes.
  const { state } = await nats.jsm.streams.info(EVENTS_STREAM);
  const foldSeconds = (foldedAt - Date.parse(state.first_ts)) / 1000;
  const lagMs = foldedAt - Date.parse(state.last_ts);
  const outcomes = acknowledged(sessions);
  const warnings = projectorWarnings(system);
  out(
    `  folded: ${state.last_seq.toLocaleString('en-US')} events (${(outcomes / state.last_seq).toFixed(1)} outcomes each) by consumer(s) ${consumers.join(', ')} ` +
      `${foldSeconds.toFixed(1)} s after the first write → ${fmtRate(state.last_seq / foldSeconds, 'events/s')} live; ${fmtMs(lagMs)} after the last write (polled every 50 ms)` +
      describeWarnings(warnings),
  );
  return { res, verified, events: state.last_seq, outcomes, foldSeconds, lagMs, warnings };
}

/** Calls acknowledged in all: every session's outcomes and its start. */
const acknowledged = (sessions: IngestSession[]) => sessions.reduce((calls, session) => calls + session.acked + 1, 0);

/** The projectors stopped, a backlog published, the same number started again and timed until every projector consumer has folded it. */
async function backlogStage(system: AppSystem, nats: BenchNats): Promise<ScalingRun['backlog']> {
  await Promise.all(system.projectors.map((projector) => projector.stop()));
  const backlog = buildBacklog(cfg.scaling.backlogSessions, cfg.backlogPerSession, cfg.backlogConcurrent);
  const tPublish = performance.now();
  await publishAll(nats.js, backlog.messages, 256, true);
  const publishRate = backlog.messages.length / ((performance.now() - tPublish) / 1000);

  // Each projector's CPU from its own readiness (its start-up is not folding); the rest from the first one's.
  const others = new CpuWindow(processes(system, ['gateway', 'query']));
  const windows: CpuWindow[] = [];
  let firstReady: number | undefined;
  let lastReady = 0;
  const tStart = performance.now();
  const starting = system.projectors.map(async (projector, i) => {
    await projector.restart();
    const window = new CpuWindow({ [`projector ${i + 1}`]: projector.pid });
    window.start();
    windows.push(window);
    lastReady = performance.now();
    if (firstReady === undefined) {
      firstReady = lastReady;
      others.start();
    }
  });
  await Promise.race(starting);
  const consumers = await eventually(() => nats.projectorsFolded(), 300_000, 'the projectors to fold the backlog');
  const tDone = performance.now();
  const cpu = others.stop().micros;
  for (const window of windows) Object.assign(cpu, window.stop().micros);
  // The benchmark's own CPU here is polling, not load.
  delete cpu.bench;
  await Promise.all(starting);
  const seconds = (tDone - firstReady!) / 1000;
  const rate = backlog.messages.length / seconds;
  // The projectors were started afresh for the backlog: their logs are this stage's.
  const warnings = projectorWarnings(system);
  out(
    `  backlog: ${backlog.messages.length.toLocaleString('en-US')} events published at ${fmtRate(publishRate, 'msgs/s')} (256 in flight); ` +
      `${system.projectors.length} projector(s) started, the first ready after ${((firstReady! - tStart) / 1000).toFixed(2)} s (all after ${((lastReady - tStart) / 1000).toFixed(2)} s), ` +
      `folded in ${seconds.toFixed(2)} s from then → ${fmtRate(rate, 'events/s')} (consumer(s) ${consumers.join(', ')})` +
      describeWarnings(warnings),
  );
  return { events: backlog.messages.length, rate, cpu, verified: await checkViews(nats, backlog), warnings };
}

/** The kind of process a CPU figure belongs to: "gateway 2" → gateway, "nats n1" → nats, "bench" → the MCP clients. */
const kindOf = (name: string) => (name === 'bench' ? 'clients' : name.startsWith('nats') ? 'nats-server' : name.split(' ')[0]!);
const KINDS = ['gateway', 'projector', 'query', 'nats-server'] as const;

/** CPU seconds per 10k of `count` (outcomes or events), per process and summed per kind of process. */
function per10k(micros: Record<string, number>, count: number) {
  const perProcess = Object.fromEntries(Object.entries(micros).map(([name, us]) => [name, us / count / 100]));
  const perKind: Record<string, number> = {};
  for (const [name, s] of Object.entries(perProcess)) perKind[kindOf(name)] = (perKind[kindOf(name)] ?? 0) + s;
  return { perProcess, perKind, system: KINDS.reduce((sum, kind) => sum + (perKind[kind] ?? 0), 0) };
}

const fmtS = (s: number | undefined) => (s === undefined || !Number.isFinite(s) ? 'n/a' : `${s.toFixed(2)} s`);

function describeCpu(runs: ScalingRun[]): void {
  out('  CPU seconds per 10k acknowledged outcomes during the ingest window, per process (sum per kind):');
  for (const run of runs) {
    const { perProcess, perKind, system } = per10k(run.ingest.res.cpu.micros, run.ingest.res.calls);
    out(`    ${run.label}: ${fmtRate(run.ingest.res.rate, 'outcomes/s')}, machine busy ${(run.ingest.res.cpu.machineBusy * 100).toFixed(0)}%`);
    out(
      `      ${Object.entries(perProcess)
        .map(([name, s]) => `${name} ${fmtS(s)}`)
        .join(', ')}`,
    );
    out(`      per kind: ${[...KINDS, 'clients'].map((kind) => `${kind} ${fmtS(perKind[kind])}`).join(', ')}; system ${fmtS(system)}`);
  }
  out('  CPU seconds per 10k backlog events (one outcome each) while folding, per process:');
  for (const run of runs) {
    const { perProcess, perKind } = per10k(run.backlog.cpu, run.backlog.events);
    out(
      `    ${run.label}: ${fmtRate(run.backlog.rate, 'events/s')}; ${Object.entries(perProcess)
        .map(([name, s]) => `${name} ${fmtS(s)}`)
        .join(', ')}`,
    );
    out(`      per kind: ${KINDS.map((kind) => `${kind} ${fmtS(perKind[kind])}`).join(', ')}`);
  }
}

/** What the measured CPU says about the ceiling on these 2 cores and on more: sentences with the figures in them. */
export function extrapolation(runs: ScalingRun[]): string[] {
  const single = runs.find((run) => !run.cluster);
  const base = runs.find((run) => run.cluster && run.replicas === 1) ?? single;
  if (!base) return [];
  const cores = 2;
  const ingest = per10k(base.ingest.res.cpu.micros, base.ingest.res.calls);
  const fold = per10k(base.backlog.cpu, base.backlog.events);
  // CPU seconds per 10k → the rate one fully used core gives.
  const perCore = (s: number) => 10_000 / s;
  const gateway = ingest.perKind.gateway!;
  const clients = ingest.perKind.clients ?? 0;
  const projectorPerEvent = fold.perKind.projector!;
  const outcomesPerEvent = base.ingest.outcomes / base.ingest.events;
  const lines = [
    `Ingest (${base.label}): per 10k outcomes the gateways use ${fmtS(gateway)} of CPU, nats-server ${fmtS(ingest.perKind['nats-server'])}, ` +
      `the projectors ${fmtS(ingest.perKind.projector)}, the query apps ${fmtS(ingest.perKind.query)}: ${fmtS(ingest.system)} for the system, ` +
      `and ${fmtS(clients)} in the MCP clients generating the load on the same machine.`,
    `On ${cores} cores shared with the clients the ceiling is ${fmtRate((cores * 10_000) / (ingest.system + clients), 'outcomes/s')} ` +
      `(measured ${fmtRate(base.ingest.res.rate, 'outcomes/s')}, machine ${(base.ingest.res.cpu.machineBusy * 100).toFixed(0)}% busy); ` +
      `the system alone on ${cores} cores: ${fmtRate((cores * 10_000) / ingest.system, 'outcomes/s')}.`,
    `With k cores for the system (clients elsewhere) the ceiling grows as k × ${fmtRate(perCore(ingest.system), 'outcomes/s')} ` +
      `(4 cores ${fmtRate((4 * 10_000) / ingest.system, '/s')}, 8 cores ${fmtRate((8 * 10_000) / ingest.system, '/s')}, 16 cores ${fmtRate((16 * 10_000) / ingest.system, '/s')}), ` +
      `if the gateways are enough: one is one Node thread, ≤ ${fmtRate(perCore(gateway), 'outcomes/s')} at a full core, ` +
      `so ⌈k × ${(gateway / ingest.system).toFixed(2)}⌉ gateways; and if the projectors keep up.`,
    `Projection (${base.label}): in a backlog a projector spends ${fmtS(projectorPerEvent)} per 10k one-outcome events (nats-server ${fmtS(fold.perKind['nats-server'])}): ` +
      `one projector, one thread, folds ≤ ${fmtRate(perCore(projectorPerEvent), 'events/s')} at a full core (measured ${fmtRate(base.backlog.rate, 'events/s')}). ` +
      `Live it spent ${fmtS(ingest.perKind.projector)} per 10k outcomes (${outcomesPerEvent.toFixed(1)} outcomes per event): events arriving a few at a time are folded ` +
      `in small batches, each with its view writes and SQL transaction; so one projector keeps up with at least ${fmtRate(perCore(ingest.perKind.projector!), 'outcomes/s')}, ` +
      `up to ≈ ${fmtRate(perCore(projectorPerEvent) * outcomesPerEvent, 'outcomes/s')} as its batches grow; beyond that more projectors are needed.`,
  ];
  const clusterRuns = runs.filter((run) => run.cluster);
  if (base.cluster && clusterRuns.length > 1) {
    const ratios = (pick: (run: ScalingRun) => number) => clusterRuns.map((run) => `${run.replicas}× ${(pick(run) / pick(base)).toFixed(2)}`).join(', ');
    const cpuOf = (run: ScalingRun, kind: string) => fmtS(per10k(run.ingest.res.cpu.micros, run.ingest.res.calls).perKind[kind]);
    lines.push(
      `Measured on ${cores} cores, relative to 1 replica each: ingest ${ratios((run) => run.ingest.res.rate)}; backlog fold ${ratios((run) => run.backlog.rate)}. ` +
        `More replicas cannot add CPU here; each costs more per outcome instead (gateways ${clusterRuns.map((run) => cpuOf(run, 'gateway')).join(' → ')}, ` +
        `projectors ${clusterRuns.map((run) => cpuOf(run, 'projector')).join(' → ')} per 10k outcomes: more processes switching on the same cores, each with its own warm-up), ` +
        'so the k-core figures above, from 1 replica each, are ceilings rather than predictions.',
    );
    const warned = clusterRuns.filter((run) => run.replicas > 1 && run.ingest.warnings.count + run.backlog.warnings.count > 0);
    if (warned.length > 0) {
      const first = warned[0]!.backlog.warnings.first ?? warned[0]!.ingest.warnings.first;
      lines.push(
        `With more than one projector they logged warnings (${warned.map((run) => `${run.replicas}×: ${run.ingest.warnings.count + run.backlog.warnings.count}`).join(', ')}; first: ${first}).`,
      );
    }
  }
  if (single && base !== single) {
    const singleNats = per10k(single.ingest.res.cpu.micros, single.ingest.res.calls).perKind['nats-server']!;
    lines.push(
      `Replication: nats-server CPU per 10k outcomes is ${fmtS(ingest.perKind['nats-server'])} on the cluster (3 nodes, 3 replicas) against ` +
        `${fmtS(singleNats)} on one server (${(ingest.perKind['nats-server']! / singleNats).toFixed(1)}×).`,
    );
  }
  return lines;
}

export function scalingRows(report: Report, runs: ScalingRun[]): void {
  // The first configuration, one nats-server, is every other's reference.
  const single = runs[0]!;
  const outcomes = (n: number) => fmtRate(n, 'outcomes/s');
  const events = (n: number) => fmtRate(n, 'ev/s');
  const live = ({ ingest }: ScalingRun) => `${events(ingest.events / ingest.foldSeconds)}, ${fmtMs(ingest.lagMs)} after the last write`;
  for (const run of runs) {
    const reference = run === single ? undefined : single;
    const ratio = (pick: (run: ScalingRun) => number) => (reference ? fmtRatio(pick(run) / pick(reference)) : '—');
    const versus = (text: string) => (reference ? `${text} (${reference.label})` : '—');
    report.add({
      figure: `9 scaling ingest, ${run.label}`,
      value: outcomes(run.ingest.res.rate),
      reference: versus(outcomes(single.ingest.res.rate)),
      ratio: ratio((r) => r.ingest.res.rate),
    });
    report.add({
      figure: `9 scaling live fold, ${run.label}`,
      value: live(run),
      reference: versus(live(single)),
      ratio: ratio((r) => r.ingest.events / r.ingest.foldSeconds),
    });
    report.add({
      figure: `9 scaling backlog fold, ${run.label}`,
      value: events(run.backlog.rate),
      reference: versus(events(single.backlog.rate)),
      ratio: ratio((r) => r.backlog.rate),
    });
  }
  report.check(
    '9 scaling, acked = stored, views checked',
    runs.every((run) => run.ingest.verified && run.backlog.verified),
    'no loss, correct',
  );
}

export function scalingNote(runs: ScalingRun[]): string[] {
  const backlogEvents = runs[0]?.backlog.events ?? 0;
  const cpuRow = (run: ScalingRun, micros: Record<string, number>, count: number, clients: boolean) => {
    const { perKind, system } = per10k(micros, count);
    return `| ${run.label} | ${[...KINDS.map((kind) => fmtS(perKind[kind])), fmtS(system), ...(clients ? [fmtS(perKind.clients)] : [])].join(' | ')} |`;
  };
  return [
    `- Scaling: each configuration is a system of its own (one nats-server, or the 3-node cluster of \`nats/cluster/\` with 3 replicas of every stream), ` +
      `with the same number of gateways, projectors and query apps (SQLite read models, one file). Ingest: figure 1a's load, ${cfg.clients} MCP clients ` +
      'spread in turn over the gateways; the events are folded when every durable consumer of the event stream has nothing pending or unacknowledged. ' +
      `Backlog: the projectors stopped, ${backlogEvents.toLocaleString('en-US')} one-outcome events published raw, the same number of projectors started, ` +
      'timed from the first being ready until folded. CPU is utime+stime from `/proc` of every process (each projector from its own readiness).',
    '',
    '| ingest, CPU s per 10k outcomes | gateways | projectors | query apps | nats-server(s) | system | MCP clients |',
    '|---|---|---|---|---|---|---|',
    ...runs.map((run) => cpuRow(run, run.ingest.res.cpu.micros, run.ingest.res.calls, true)),
    '',
    '| backlog, CPU s per 10k events | gateways | projectors | query apps | nats-server(s) | system |',
    '|---|---|---|---|---|---|',
    ...runs.map((run) => cpuRow(run, run.backlog.cpu, run.backlog.events, false)),
    '',
    ...extrapolation(runs).map((line) => `  ${line}`),
  ];
}
