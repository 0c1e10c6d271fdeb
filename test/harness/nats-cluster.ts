import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { root } from './apps.js';
import { NatsServer } from './nats-server.js';
import { eventually, freePort } from './processes.js';

/** The node names of nats/cluster/*.conf, in order. */
export const NODE_NAMES = ['n1', 'n2', 'n3'] as const;

/**
 * The repo's 3-node cluster (nats/cluster/n1–n3.conf) on free ports with temporary stores, each node
 * a NatsServer that can be killed and restarted.
 */
export class NatsCluster {
  private constructor(readonly nodes: NatsServer[]) {}

  static async start(): Promise<NatsCluster> {
    const routePorts: number[] = [];
    for (const _ of NODE_NAMES) routePorts.push(await freePort());
    const routes = routePorts.map((port) => `nats://127.0.0.1:${port}`);
    const nodes = await Promise.all(
      NODE_NAMES.map((name, i) =>
        NatsServer.start({ file: join(root, 'nats', 'cluster', `${name}.conf`), options: ['--cluster', routes[i]!, '--routes', routes.join(',')] }),
      ),
    );
    const cluster = new NatsCluster(nodes);
    await cluster.jetStreamReady();
    return cluster;
  }

  /** NATS_URL of the cluster: every node. */
  get url(): string {
    return this.nodes.map((node) => node.url).join(',');
  }

  /** The node of that server name (n1–n3). */
  node(name: string): NatsServer {
    const node = this.nodes[NODE_NAMES.indexOf(name as (typeof NODE_NAMES)[number])];
    if (!node) throw new Error(`no node ${name}`);
    return node;
  }

  /**
   * Resolves once JetStream answers on every node: the nodes have routes and a meta leader (a node
   * just formed may refuse JetStream requests a while after another answers them).
   */
  async jetStreamReady(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        const nc = await connect({ servers: node.url });
        try {
          await eventually(() => jetstreamManager(nc).then((jsm) => jsm.getAccountInfo().then(() => true)), 30_000, `JetStream on ${node.url}`);
        } finally {
          await nc.close();
        }
      }),
    );
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.dispose()));
  }
}
