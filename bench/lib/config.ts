// The benchmark's knobs: BENCH_* environment variables, each with its default (the sizes of the
// committed bench/results.md). A knob that is unset, zero or not a number takes its default.
import { resolve } from 'node:path';
import { root } from '../../test/harness/apps.js';

const num = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

/** BENCH_ONLY: the figure groups to run (comma-separated: main, calls, rebuild, scaling); unset: all. */
const only = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);

export const cfg = {
  clients: num('BENCH_CLIENTS', 32),
  warmupMs: num('BENCH_WARMUP_SECONDS', 2) * 1000,
  measureMs: num('BENCH_SECONDS', 10) * 1000,
  rawPublishMs: num('BENCH_RAW_PUBLISH_SECONDS', 3) * 1000,
  backlogSessions: num('BENCH_BACKLOG_SESSIONS', 1000),
  backlogPerSession: num('BENCH_BACKLOG_EVENTS_PER_SESSION', 100),
  backlogConcurrent: num('BENCH_BACKLOG_CONCURRENT_SESSIONS', 100),
  rttRequests: num('BENCH_RTT_REQUESTS', 5000),
  visibleWrites: num('BENCH_VISIBLE_WRITES', 500),
  batchClients: num('BENCH_BATCH_CLIENTS', 8),
  suiteTests: num('BENCH_SUITE_TESTS', 5000),
  suiteRounds: num('BENCH_SUITE_ROUNDS', 5),
  junitCases: num('BENCH_JUNIT_CASES', 50_000),
  reads: {
    sessions: num('BENCH_READS_SESSIONS', 1000),
    testsPerSession: num('BENCH_READS_TESTS', 2000),
    resultsPerEvent: num('BENCH_READS_RESULTS_PER_EVENT', 100),
    requests: num('BENCH_READS_REQUESTS', 500),
  },
  scaling: {
    /** Replicas of each app on the cluster: 1 … this many. */
    replicas: num('BENCH_SCALING_REPLICAS', 3),
    /** Sessions of the backlog (each BENCH_BACKLOG_EVENTS_PER_SESSION events) folded by freshly started projectors. */
    backlogSessions: num('BENCH_SCALING_BACKLOG_SESSIONS', 100),
  },
  /** Events of the stream figure 11 rebuilds. */
  rebuildEvents: num('BENCH_REBUILD_EVENTS', 1_000_000),
  only,
  /** The whole run stops (everything it started too) after this long. */
  timeoutSeconds: num('BENCH_TIMEOUT_SECONDS', 2400),
  /**
   * Where the markdown report goes (relative to the working directory); a small trial run can keep the committed one.
   * A run of some figure groups only (BENCH_ONLY) writes one only where BENCH_REPORT says.
   */
  reportPath: process.env.BENCH_REPORT ? resolve(process.env.BENCH_REPORT) : only.length > 0 ? undefined : resolve(root, 'bench', 'results.md'),
};
