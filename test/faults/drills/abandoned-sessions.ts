// Thousands of MCP sessions opened (initialize, initialized) and never closed, on one gateway, while the agents
// write: the gateway closes the least recently used beyond its limits, so its memory stops growing once the
// limit is reached (the peak over the second half of the sessions stays near the first half's) and it answers.
import type { Drill } from '../lib/drill.js';
import { Fleet } from '../lib/fleet.js';
import { withSystem } from '../lib/system.js';
import { memoryOf, mcpHeaders, openRawSession, resetPeak } from '../../harness/raw-http.js';

const IN_FLIGHT = 8;
/** The sessions are opened in this many steps, the gateway's RSS read after each. */
const STEPS = 10;

export const abandonedSessions: Drill = (sizes) =>
  withSystem(sizes, { MCP_MAX_SESSIONS: String(sizes.maxSessions), MCP_MAX_SESSIONS_PER_AGENT: String(sizes.maxSessionsPerAgent) }, async (system) => {
    const gateway = system.gateway;
    const fleet = await Fleet.start(system, 'abandoned-sessions', sizes.agents);
    try {
      const before = memoryOf(gateway.pid).rssMb;
      resetPeak(gateway.pid);
      const startedAt = performance.now();
      const [{ ids, peaks }] = await Promise.all([
        openAndAbandon(gateway.pid, gateway.mcpUrl, sizes.abandonedSessions),
        fleet.write(sizes.outcomes, sizes.batch),
      ]);
      const seconds = (performance.now() - startedAt) / 1000;
      const after = memoryOf(gateway.pid).rssMb;
      const firstHalf = peaks[STEPS / 2 - 1]!;
      const peak = peaks.at(-1)!;
      const row = await fleet.verify({
        drill: 'abandoned MCP sessions',
        did: `${sizes.abandonedSessions} MCP sessions opened and abandoned on gateway 1 (limits ${sizes.maxSessions} / ${sizes.maxSessionsPerAgent} per agent) during ${sizes.outcomes} outcomes`,
        notes: [
          `gateway RSS ${before.toFixed(0)} MB before, peak ${firstHalf.toFixed(0)} MB over the first half of the sessions, ${peak.toFixed(0)} MB over all ` +
            `(growth bound in the second half: ${sizes.memoryBoundMb} MB), ${after.toFixed(0)} MB after; ${(ids.length / seconds).toFixed(0)} sessions/s`,
          `peak RSS after each tenth of the sessions (MB): ${peaks.map((mb) => mb.toFixed(0)).join(', ')}`,
          fleet.describeFailures(),
        ],
      });
      if (peak - firstHalf > sizes.memoryBoundMb)
        row.problems.push(`gateway RSS peak grew ${(peak - firstHalf).toFixed(0)} MB over the second half of the sessions, beyond ${sizes.memoryBoundMb} MB`);
      if (ids.length > sizes.maxSessionsPerAgent && (await sessionStatus(gateway.mcpUrl, ids[0]!)) !== 404) {
        row.problems.push('the first abandoned session is still open beyond the limit');
      }
      if ((await sessionStatus(gateway.mcpUrl, ids.at(-1)!)) !== 200) row.problems.push('the last abandoned session no longer answers');
      return row;
    } finally {
      await fleet.close();
    }
  });

/** Opens `count` sessions, IN_FLIGHT at a time, and never closes them: their ids in order, and the gateway's peak RSS after each step. */
async function openAndAbandon(pid: number, url: URL, count: number): Promise<{ ids: string[]; peaks: number[] }> {
  const ids: string[] = [];
  const peaks: number[] = [];
  for (let step = 1; step <= STEPS; step++) {
    const until = Math.round((count * step) / STEPS);
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (ids.length < until) {
          // The slot is taken before the await, so the steps stop at `until`.
          const slot = ids.push('') - 1;
          ids[slot] = await openRawSession(url);
        }
      }),
    );
    peaks.push(memoryOf(pid).peakMb);
  }
  return { ids, peaks };
}

/** The HTTP status a tools/list on the session gets (404 once the gateway closed it). */
async function sessionStatus(url: URL, sessionId: string): Promise<number> {
  const headers = mcpHeaders(undefined, { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' });
  const answer = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
  await answer.arrayBuffer();
  return answer.status;
}
