import type { Sizes } from './drill.js';
import { System } from '../../harness/system.js';

/** A system of the drill's own (nats-server, projector replicas, query app, the gateways), stopped whatever `drill` does. */
export async function withSystem<T>(
  sizes: Sizes,
  env: Record<string, string>,
  drill: (system: System) => Promise<T>,
  { projectors = 1 }: { projectors?: number } = {},
): Promise<T> {
  const system = await System.start({ gateways: sizes.gateways, projectors, env });
  try {
    return await drill(system);
  } finally {
    await system.stop();
  }
}
