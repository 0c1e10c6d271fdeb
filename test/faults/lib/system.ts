import type { Sizes } from './drill.js';
import type { NatsCluster } from '../../harness/nats-cluster.js';
import type { NatsServer } from '../../harness/nats-server.js';
import { System } from '../../harness/system.js';

/** A system of the drill's own (nats-server, projector, query app, the gateways), stopped whatever `drill` does. */
export async function withSystem<T>(sizes: Sizes, env: Record<string, string>, drill: (system: System) => Promise<T>): Promise<T> {
  return using(await System.start({ gateways: sizes.gateways, env }), drill);
}

/** The same on a 3-node NATS cluster (the apps' streams, buckets and consumer with 3 replicas). */
export async function withClusterSystem<T>(sizes: Sizes, env: Record<string, string>, drill: (system: System<NatsCluster>) => Promise<T>): Promise<T> {
  return using(await System.onCluster({ gateways: sizes.gateways, env }), drill);
}

async function using<S extends System<NatsServer | NatsCluster>, T>(system: S, drill: (system: S) => Promise<T>): Promise<T> {
  try {
    return await drill(system);
  } finally {
    await system.stop();
  }
}
