// Clients that open event streams (GET /mcp on the gateways, /api/events on the query app) and never read
// them, while the agents write: the agents' calls complete, and their latency is compared with a run without.
import { request, type ClientRequest } from 'node:http';
import type { Drill } from '../lib/drill.js';
import { Fleet } from '../lib/fleet.js';
import { withSystem } from '../lib/system.js';
import { openRawSession } from '../../harness/raw-http.js';
import type { System } from '../../harness/system.js';

export const stuckClients: Drill = (sizes) =>
  withSystem(sizes, {}, async (system) => {
    const fleet = await Fleet.start(system, 'stuck-clients', sizes.agents);
    const stuck: ClientRequest[] = [];
    try {
      await fleet.write(sizes.outcomes / 2, sizes.batch);
      const withoutP50 = fleet.p50();
      const from = fleet.latencies.length;
      stuck.push(...(await openStuckStreams(system, sizes.stuckClients)));
      await fleet.write(sizes.outcomes / 2, sizes.batch);
      const withP50 = fleet.p50(from);
      return await fleet.verify({
        drill: 'stuck clients',
        did: `${sizes.stuckClients} event streams never read (half GET /mcp, half /api/events) during the second half of ${sizes.outcomes} outcomes`,
        notes: [`call p50 ${withoutP50.toFixed(1)} ms without stuck clients, ${withP50.toFixed(1)} ms with them`, fleet.describeFailures()],
      });
    } finally {
      for (const req of stuck) req.destroy();
      await fleet.close();
    }
  });

/** `count` event streams, half MCP (one session each, spread over the gateways) and half the query app's feed, none of them read. */
async function openStuckStreams(system: System, count: number): Promise<ClientRequest[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      if (i % 2) return neverRead(new URL('/api/events', system.queryHttpUrl), {});
      const url = system.gateways[(i / 2) % system.gateways.length]!.mcpUrl;
      return neverRead(url, { 'mcp-session-id': await openRawSession(url) });
    }),
  );
}

/** A GET of an event stream whose answer is never read (paused, so the socket's buffers fill up). */
function neverRead(url: URL, headers: Record<string, string>): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent: false, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`GET ${url.pathname} answered ${res.statusCode}`));
      res.pause();
      resolve(req);
    });
    req.on('error', reject);
    req.end();
  });
}
