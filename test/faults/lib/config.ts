// The fault suite's knobs: FAULTS_* environment variables, each defaulting to the sizes.
// A knob that is unset, zero or not a number takes its default.
import type { Sizes } from './drill.js';

const num = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

export const fullSizes: Sizes = {
  agents: num('FAULTS_AGENTS', 16),
  gateways: num('FAULTS_GATEWAYS', 2),
  batch: num('FAULTS_BATCH', 20),
  projectorOutcomes: num('FAULTS_PROJECTOR_OUTCOMES', 100_000),
  killEveryMs: num('FAULTS_KILL_EVERY_MS', 3000),
  outcomes: num('FAULTS_OUTCOMES', 20_000),
  clusterOutages: num('FAULTS_CLUSTER_OUTAGES', 2),
  outageMs: num('FAULTS_OUTAGE_MS', 3000),
  abandonedSessions: num('FAULTS_ABANDONED_SESSIONS', 10_000),
  maxSessions: num('FAULTS_MAX_SESSIONS', 2000),
  maxSessionsPerAgent: num('FAULTS_MAX_SESSIONS_PER_AGENT', 1000),
  memoryBoundMb: num('FAULTS_MEMORY_GROWTH_MB', 128),
  stuckClients: num('FAULTS_STUCK_CLIENTS', 100),
};

/** FAULTS_ONLY=clusterNodes,natsRestart: only the drills named (as in drills/index.ts); unset: all. */
export const onlyDrills = (process.env.FAULTS_ONLY ?? '')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);
