// SIGKILL nats-server in the middle of the load and start it again on the same store: writes are refused
// clearly while it is down, accepted again after, and every acknowledged outcome is there exactly once.
import type { Drill } from '../lib/drill.js';
import { Fleet } from '../lib/fleet.js';
import { withSystem } from '../lib/system.js';
import { sleep } from '../../harness/processes.js';

/** The only failure a write may meet while NATS is down: a refusal that says to retry. */
const CLEAR_REFUSAL = 'WRITE_UNAVAILABLE';

export const natsRestart: Drill = (sizes) =>
  withSystem(sizes, { WRITE_TIMEOUT_MS: '1500' }, async (system) => {
    const fleet = await Fleet.start(system, 'nats-restart', sizes.agents);
    try {
      const written = fleet.write(sizes.outcomes, sizes.batch);
      await fleet.acknowledgedAtLeast(sizes.outcomes / 3);
      const killedAt = performance.now();
      await system.nats.kill();
      await sleep(sizes.outageMs);
      await system.nats.up();
      await system.probe.reconnected();
      await written;
      const row = await fleet.verify({
        drill: 'nats-server SIGKILL + restart',
        did: `${sizes.outcomes} outcomes from ${sizes.agents} agents via ${sizes.gateways} gateways; nats-server down ${sizes.outageMs} ms mid-ingest`,
        recoveryMs: fleet.recoveryAfter(killedAt),
        notes: [`failures seen: ${fleet.describeFailures()}`],
      });
      const unclear = [...fleet.failureKinds().keys()].filter((kind) => kind !== CLEAR_REFUSAL);
      if (unclear.length) row.problems.push(`writes failed other than with ${CLEAR_REFUSAL}: ${unclear.join(', ')}`);
      if (!fleet.failureKinds().has(CLEAR_REFUSAL)) row.notes.push('no write was refused during the outage (was the load over before it?)');
      return row;
    } finally {
      await fleet.close();
    }
  });
