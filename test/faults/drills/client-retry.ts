// A gateway is SIGKILLed under the load, dropping its clients' connections; every client retries the failed
// call on a new MCP session and sends each acknowledged call a second time: each outcome is counted once.
import type { Drill } from '../lib/drill.js';
import { Fleet } from '../lib/fleet.js';
import { withSystem } from '../lib/system.js';

export const clientRetry: Drill = (sizes) =>
  withSystem(sizes, {}, async (system) => {
    const fleet = await Fleet.start(system, 'client-retry', sizes.agents, { resendAcknowledged: true });
    try {
      const written = fleet.write(sizes.outcomes, sizes.batch);
      await fleet.acknowledgedAtLeast(sizes.outcomes / 3);
      const killedAt = performance.now();
      await system.gateway.restart({ kill: true });
      await written;
      return await fleet.verify({
        drill: 'retried calls after dropped connections',
        did: `${sizes.outcomes} outcomes from ${sizes.agents} agents, every call sent twice; gateway 1 SIGKILLed and restarted mid-ingest`,
        recoveryMs: fleet.recoveryAfter(killedAt),
        notes: [`${fleet.resent} acknowledged calls resent, ${fleet.reconnects} reconnects; failures seen: ${fleet.describeFailures()}`],
      });
    } finally {
      await fleet.close();
    }
  });
