// `npm run bench`: the system's speed beside references measured in the same run, on this machine.
// Starts its own nats-server and apps, stops them at the end (also on failure or Ctrl-C), runs the
// figures (bench/figures/, one file each), prints a table, and writes it as markdown to
// bench/results.md (or BENCH_REPORT). Knobs: the BENCH_* variables in bench/lib/config.ts; BENCH_ONLY
// runs some figure groups only (main, calls, rebuild, scaling).
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { root } from '../test/harness/apps.js';
import { batchIngestFigure, batchIngestNote, batchIngestRows } from './figures/batch-ingest.js';
import { callBreakdownFigure, callBreakdownRows } from './figures/call-breakdown.js';
import { getSessionFigure, getSessionNote, getSessionRows } from './figures/get-session.js';
import { httpIngestFigure, httpIngestRows } from './figures/http-ingest.js';
import { junitImportFigure, junitImportNote, junitImportRows } from './figures/junit-import.js';
import { liveFeedNote } from './figures/live-feed.js';
import { projectionFigure, projectionNote, projectionRows } from './figures/projection.js';
import { pytestSuiteFigure, pytestSuiteNote, pytestSuiteRows } from './figures/pytest-suite.js';
import { rawPublishFigure, rawPublishRows } from './figures/raw-publish.js';
import { rebuildFigure, rebuildNote, rebuildRows } from './figures/rebuild.js';
import { readModelsFigure, readModelsNote, readModelsRows } from './figures/read-models.js';
import { rssFigure, rssRows } from './figures/rss.js';
import { scalingFigure, scalingNote, scalingRows } from './figures/scaling.js';
import { stdioIngestFigure, stdioIngestRows } from './figures/stdio-ingest.js';
import { cfg } from './lib/config.js';
import { ingestNotes } from './lib/ingest.js';
import { CLK_TCK, cpuModel, natsServerVersion } from './lib/proc-stats.js';
import { Report } from './lib/report.js';
import { out, runBench } from './lib/run.js';
import { System } from './lib/system.js';

await runBench(async () => {
  const natsVersion = natsServerVersion();
  const sdkVersion = JSON.parse(readFileSync(join(root, 'node_modules/@modelcontextprotocol/sdk/package.json'), 'utf8')).version as string;
  out(`mcp-pytest benchmark — ${new Date().toISOString()}`);
  out(`node ${process.version}, nats-server ${natsVersion}, MCP SDK ${sdkVersion}, ${cpuModel()}, ${cpus().length} cores, CLK_TCK ${CLK_TCK}`);
  out(`load: ${cfg.clients} MCP clients / calls in flight, ${cfg.warmupMs / 1000} s warm-up + ${cfg.measureMs / 1000} s measured per ingest run`);
  out();

  // The figure groups: main (figures 1–8, sharing one system and each other's results), calls
  // (figure 10) and rebuild (figure 11), each on a fresh system of its own, and scaling (figure 9,
  // systems of its own: run first, while nothing else of the benchmark's runs).
  const groups = ['main', 'calls', 'rebuild', 'scaling'];
  const unknown = cfg.only.filter((name) => !groups.includes(name));
  if (unknown.length > 0) throw new Error(`BENCH_ONLY: no figure group ${unknown.join(', ')} (the groups: ${groups.join(', ')})`);
  const selected = (group: string) => cfg.only.length === 0 || cfg.only.includes(group);

  const scaling = selected('scaling') ? await scalingFigure() : undefined;
  const main = selected('main') ? await mainFigures() : undefined;
  const calls = selected('calls') ? await callBreakdownFigure(await System.start()) : undefined;
  const rebuild = selected('rebuild') ? await rebuildFigure(await System.start()) : undefined;

  const report = new Report();
  if (main) main.rows(report);
  if (calls) callBreakdownRows(report, calls);
  if (rebuild) rebuildRows(report, rebuild);
  if (scaling) scalingRows(report, scaling);
  out(report.text());

  if (!cfg.reportPath) {
    out("\nBENCH_ONLY: bench/results.md left as it is (BENCH_REPORT names a file for this run's table)");
    return;
  }
  const md = [
    '## Benchmark (`npm run bench`)',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpuModel()} (${cpus().length} cores), Node ${process.version}, ` +
      `nats-server ${natsVersion}, MCP SDK ${sdkVersion}. Every reference was measured in the same run on the same machine.`,
    '',
    report.markdown(),
    '',
    ...(main?.notes ?? []),
    ...(rebuild ? [rebuildNote()] : []),
    ...(scaling ? scalingNote(scaling) : []),
    '',
  ].join('\n');
  writeFileSync(cfg.reportPath, md);
  out(`\nwrote ${cfg.reportPath}`);
}, cfg.timeoutSeconds);

/** Figures 1–8 on the benchmark's system: the report's rows and notes. */
async function mainFigures(): Promise<{ rows: (report: Report) => void; notes: string[] }> {
  const sys = await System.start();
  const raw = await rawPublishFigure(sys);
  const http = await httpIngestFigure(sys);
  const stdio = await stdioIngestFigure(sys);
  const projection = await projectionFigure(sys);
  const getSession = await getSessionFigure(sys, projection.backlog.sessionIds);
  const batch = await batchIngestFigure(sys);
  const suite = await pytestSuiteFigure(sys);
  const junit = await junitImportFigure(sys);
  const reads = await readModelsFigure(sys);
  await rssFigure(sys, stdio);
  const rows = (report: Report) => {
    httpIngestRows(report, http);
    stdioIngestRows(report, stdio);
    rawPublishRows(report, raw, http, stdio);
    projectionRows(report, projection);
    getSessionRows(report, getSession);
    batchIngestRows(report, batch);
    pytestSuiteRows(report, suite);
    junitImportRows(report, junit, batch);
    readModelsRows(report, reads);
    rssRows(report, sys);
  };
  const notes = [
    ...ingestNotes(),
    projectionNote(projection),
    batchIngestNote(),
    pytestSuiteNote(),
    junitImportNote(),
    liveFeedNote(),
    readModelsNote(),
    getSessionNote(getSession),
  ];
  return { rows, notes };
}
