import type { Sizes } from './drill.js';
import { System, type SystemOptions } from '../../harness/system.js';

/**
 * A system of the drill's own (nats-server or, with `cluster`, the 3-node cluster; projector
 * replicas, query app, the gateways), stopped whatever `drill` does.
 */
export async function withSystem<T>(
  sizes: Sizes,
  env: Record<string, string>,
  drill: (system: System) => Promise<T>,
  options: Pick<SystemOptions, 'projectors' | 'cluster'> = {},
): Promise<T> {
  const system = await System.start({ gateways: sizes.gateways, env, ...options });
  try {
    return await drill(system);
  } finally {
    await system.stop();
  }
}
