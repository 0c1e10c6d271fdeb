// SIGKILL a projector replica (of two) every few seconds while the agents write; the views and SQL rows must still come out exact.
import type { ConsumerInfo } from '@nats-io/jetstream';
import type { Drill } from '../lib/drill.js';
import { Fleet } from '../lib/fleet.js';
import { withSystem } from '../lib/system.js';
import { eventually, sleep } from '../../harness/processes.js';
import type { App } from '../../harness/apps.js';
import type { System } from '../../harness/system.js';

export const projectorKill: Drill = (sizes) =>
  withSystem(
    sizes,
    {},
    async (system) => {
      const fleet = await Fleet.start(system, 'projector-kill', sizes.agents);
      try {
        let writing = true;
        const written = fleet.write(sizes.projectorOutcomes, sizes.batch).finally(() => (writing = false));
        const recoveries: number[] = [];
        let duringLoad = 0;
        // At least one kill, even when the load is over before the first interval.
        do {
          await Promise.race([sleep(sizes.killEveryMs), written]);
          if (writing) duringLoad++;
          recoveries.push(await killProjector(system, system.projectors[recoveries.length % system.projectors.length]!));
        } while (writing);
        await written;
        return await fleet.verify({
          drill: 'projector SIGKILL',
          did: `${sizes.projectorOutcomes} outcomes from ${sizes.agents} agents via ${sizes.gateways} gateways; ${system.projectors.length} projector replicas, one SIGKILLed ${recoveries.length}× (${duringLoad} during the writes)`,
          recoveryMs: Math.max(...recoveries),
          notes: [`recovery = kill until every partition is folded again (max of ${recoveries.length})`, fleet.describeFailures()],
        });
      } finally {
        await fleet.close();
      }
    },
    { projectors: 2 },
  );

/**
 * SIGKILLs and restarts one projector replica; milliseconds until every partition is folded again:
 * each consumer past where it was at the kill (the killed replica's ones once another took them
 * over, or it took them back), or with nothing left to fold.
 */
async function killProjector(system: System, replica: App): Promise<number> {
  const killedAt = performance.now();
  const ackFloor = (info: ConsumerInfo) => info.ack_floor.stream_seq;
  const before = new Map((await system.probe.projectorConsumers()).map((info) => [info.name, ackFloor(info)]));
  await replica.restart({ kill: true });
  await eventually(
    async () => {
      const consumers = await system.probe.projectorConsumers();
      return consumers.every((info) => (info.num_pending === 0 && info.num_ack_pending === 0) || ackFloor(info) > (before.get(info.name) ?? 0));
    },
    60_000,
    'every partition to be folded again',
  );
  return performance.now() - killedAt;
}
