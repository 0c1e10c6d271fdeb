// Thousands of MCP sessions opened (initialize, initialized) and never closed, on one gateway, while the agents
// write: the gateway closes the least recently used beyond its limits, so its memory stays bounded and it answers.
import type { Drill } from '../lib/drill.js';
import { Fleet } from '../lib/fleet.js';
import { withSystem } from '../lib/system.js';
import { memoryOf, mcpHeaders, openRawSession, resetPeak } from '../../harness/raw-http.js';

const IN_FLIGHT = 8;

export const abandonedSessions: Drill = (sizes) =>
  withSystem(sizes, { MCP_MAX_SESSIONS: String(sizes.maxSessions), MCP_MAX_SESSIONS_PER_AGENT: String(sizes.maxSessionsPerAgent) }, async (system) => {
    const gateway = system.gateway;
    const fleet = await Fleet.start(system, 'abandoned-sessions', sizes.agents);
    try {
      const before = memoryOf(gateway.pid).rssMb;
      resetPeak(gateway.pid);
      const startedAt = performance.now();
      const [ids] = await Promise.all([openAndAbandon(gateway.mcpUrl, sizes.abandonedSessions), fleet.write(sizes.outcomes, sizes.batch)]);
      const seconds = (performance.now() - startedAt) / 1000;
      const { rssMb: after, peakMb: peak } = memoryOf(gateway.pid);
      const row = await fleet.verify({
        drill: 'abandoned MCP sessions',
        did: `${sizes.abandonedSessions} MCP sessions opened and abandoned on gateway 1 (limits ${sizes.maxSessions} / ${sizes.maxSessionsPerAgent} per agent) during ${sizes.outcomes} outcomes`,
        notes: [
          `gateway RSS ${before.toFixed(0)} MB before, ${after.toFixed(0)} MB after, peak ${peak.toFixed(0)} MB (bound +${sizes.memoryBoundMb} MB); ${(ids.length / seconds).toFixed(0)} sessions/s`,
          fleet.describeFailures(),
        ],
      });
      if (peak - before > sizes.memoryBoundMb) row.problems.push(`gateway RSS grew ${(peak - before).toFixed(0)} MB, beyond ${sizes.memoryBoundMb} MB`);
      if (ids.length > sizes.maxSessionsPerAgent && (await sessionStatus(gateway.mcpUrl, ids[0]!)) !== 404) {
        row.problems.push('the first abandoned session is still open beyond the limit');
      }
      if ((await sessionStatus(gateway.mcpUrl, ids.at(-1)!)) !== 200) row.problems.push('the last abandoned session no longer answers');
      return row;
    } finally {
      await fleet.close();
    }
  });

/** Opens `count` sessions, IN_FLIGHT at a time, and never closes them; their ids in order. */
async function openAndAbandon(url: URL, count: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next++ < count) ids.push(await openRawSession(url));
    }),
  );
  return ids;
}

/** The HTTP status a tools/list on the session gets (404 once the gateway closed it). */
async function sessionStatus(url: URL, sessionId: string): Promise<number> {
  const headers = mcpHeaders(undefined, { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' });
  const answer = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
  await answer.arrayBuffer();
  return answer.status;
}
