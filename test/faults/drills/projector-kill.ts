// SIGKILL the projector every few seconds while the agents write; the views and SQL rows must still come out exact.
import type { ConsumerInfo } from '@nats-io/jetstream';
import type { Drill } from '../lib/drill.js';
import { Fleet } from '../lib/fleet.js';
import { withSystem } from '../lib/system.js';
import { eventually, sleep } from '../../harness/processes.js';
import type { System } from '../../harness/system.js';

export const projectorKill: Drill = (sizes) =>
  withSystem(sizes, {}, async (system) => {
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
        recoveries.push(await killProjector(system));
      } while (writing);
      await written;
      return await fleet.verify({
        drill: 'projector SIGKILL',
        did: `${sizes.projectorOutcomes} outcomes from ${sizes.agents} agents via ${sizes.gateways} gateways; projector SIGKILLed ${recoveries.length}× (${duringLoad} during the writes)`,
        recoveryMs: Math.max(...recoveries),
        notes: [`recovery = kill until the restarted projector folds again (max of ${recoveries.length})`, fleet.describeFailures()],
      });
    } finally {
      await fleet.close();
    }
  });

/** SIGKILLs and restarts the projector; milliseconds until it has folded past where the killed one stopped. */
async function killProjector(system: System): Promise<number> {
  const killedAt = performance.now();
  const ackFloor = (info: ConsumerInfo) => info.ack_floor.stream_seq;
  const before = new Map((await system.probe.projectorConsumers()).map((info) => [info.name, ackFloor(info)]));
  await system.projector.restart({ kill: true });
  await eventually(
    async () => {
      const consumers = await system.probe.projectorConsumers();
      const idle = consumers.every((info) => info.num_pending === 0 && info.num_ack_pending === 0);
      return idle || consumers.some((info) => ackFloor(info) > (before.get(info.name) ?? 0));
    },
    60_000,
    'the restarted projector to fold',
  );
  return performance.now() - killedAt;
}
