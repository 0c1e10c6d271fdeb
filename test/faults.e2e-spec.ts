import { describe, expect, it } from 'vitest';
import { DRILLS } from './faults/drills/index.js';
import { fullSizes } from './faults/lib/config.js';
import type { Sizes } from './faults/lib/drill.js';
import { describeRow } from './faults/lib/table.js';

// The fault suite's drills (`npm run faults` runs them at full size) at sizes that take seconds each.
const small: Sizes = {
  ...fullSizes,
  agents: 16,
  gateways: 2,
  projectorOutcomes: 2000,
  killEveryMs: 500,
  outcomes: 2000,
  // One node down and back (the full suite: two, one after the other).
  clusterOutages: 1,
  outageMs: 1500,
  abandonedSessions: 500,
  maxSessions: 200,
  maxSessionsPerAgent: 100,
  memoryBoundMb: 64,
  stuckClients: 20,
};

describe('the fault suite, small', () => {
  for (const [name, drill] of Object.entries(DRILLS)) {
    it(`${name}: loses nothing, stores nothing twice, and its checks hold`, async () => {
      const row = await drill(small);
      const described = describeRow(row);
      // The row (what the drill did, p50s, memory, recovery) is the suite's report; the assertions are below.
      console.info(described);
      expect(row.lost, described).toBe(0);
      expect(row.duplicated, described).toBe(0);
      expect(row.problems, described).toEqual([]);
      expect(row.acknowledged, described).toBeGreaterThanOrEqual(small.outcomes);
    });
  }
});
