import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type AppName } from './apps.js';
import { NatsCluster } from './nats-cluster.js';
import { NatsServer } from './nats-server.js';
import { NatsProbe } from './nats-probe.js';

export interface SystemOptions {
  gateways?: number;
  projectors?: number;
  queries?: number;
  /** The repo's 3-node NATS cluster instead of one nats-server (the apps then get 3 replicas). */
  cluster?: boolean;
  env?: Record<string, string>;
}

/** A whole system for one suite: its own nats-server (or 3-node cluster), and N projectors, query apps and gateways. */
export class System {
  private constructor(
    /** The one nats-server, or the cluster's three nodes. */
    readonly natsServers: NatsServer[],
    private readonly natsCluster: NatsCluster | undefined,
    /** NATS_URL of the apps: every server. */
    readonly natsUrl: string,
    readonly projectors: App[],
    readonly queries: App[],
    readonly gateways: App[],
    readonly probe: NatsProbe,
    /** READ_MODEL_URL of its projectors and query apps: a SQLite file of its own unless the suite gave one. */
    readonly readModelUrl: string,
    private readonly dataDir: string,
  ) {}

  static async start({ gateways = 1, projectors = 1, queries = 1, cluster = false, env = {} }: SystemOptions = {}): Promise<System> {
    const natsCluster = cluster ? await NatsCluster.start() : undefined;
    const natsServers = natsCluster?.nodes ?? [await NatsServer.start()];
    const natsUrl = natsServers.map((server) => server.url).join(',');
    const dataDir = mkdtempSync(join(tmpdir(), 'mcp-pytest-read-models-'));
    const appEnv = { NATS_URL: natsUrl, READ_MODEL_URL: `sqlite:${join(dataDir, 'read-models.sqlite')}`, ...env };
    const starting = (name: AppName, n: number) => Array.from({ length: n }, () => () => App.start(name, appEnv));
    // Those that started are stopped again when another did not start.
    const started = await settleAtMost(cpus().length + 1, [
      ...starting('projector', projectors),
      ...starting('query', queries),
      ...starting('gateway', gateways),
    ]);
    const failed = started.find((result) => result.status === 'rejected');
    const apps = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    if (failed) {
      await Promise.all(apps.map((app) => app.stop()));
      await Promise.all(natsServers.map((server) => server.dispose()));
      rmSync(dataDir, { recursive: true, force: true });
      throw failed.reason;
    }
    return new System(
      natsServers,
      natsCluster,
      natsUrl,
      apps.slice(0, projectors),
      apps.slice(projectors, projectors + queries),
      apps.slice(projectors + queries),
      await NatsProbe.connect(natsUrl),
      appEnv.READ_MODEL_URL,
      dataDir,
    );
  }

  /** The cluster the system runs on (started with `cluster: true`), to kill and restart its nodes by name. */
  get cluster(): NatsCluster {
    if (!this.natsCluster) throw new Error('this system runs one nats-server: use nats');
    return this.natsCluster;
  }

  /** The one nats-server (a cluster's nodes are `natsServers`). */
  get nats(): NatsServer {
    if (this.natsServers.length !== 1) throw new Error('this system runs a NATS cluster: use natsServers');
    return this.natsServers[0]!;
  }

  get projector(): App {
    return this.projectors[0]!;
  }

  get query(): App {
    return this.queries[0]!;
  }

  get gateway(): App {
    return this.gateways[0]!;
  }

  /** The first query app's dashboard and HTTP API (`/api/…`). */
  get queryHttpUrl(): URL {
    return this.query.httpUrl;
  }

  /** Environment for another process of this system (e.g. a stdio gateway). */
  get env(): Record<string, string> {
    return { NATS_URL: this.natsUrl, READ_MODEL_URL: this.readModelUrl };
  }

  /** What the apps logged: each app's last `lines` lines (all of them by default). */
  logs(lines = Infinity): string {
    const tail = (text: string) => text.split('\n').slice(-lines).join('\n');
    return [...this.projectors, ...this.queries, ...this.gateways].map((a) => `--- ${a.name}\n${tail(a.proc.logs)}`).join('\n');
  }

  async stop(): Promise<void> {
    await this.probe.close();
    await Promise.all([...this.gateways, ...this.queries, ...this.projectors].map((app) => app.stop()));
    await Promise.all(this.natsServers.map((server) => server.dispose()));
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * Runs the tasks, at most `limit` at a time (a few more apps starting at once than there are cores
 * only slow each one past its ready timeout), and settles them like Promise.allSettled.
 */
async function settleAtMost<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<PromiseSettledResult<T>[]> {
  const results: PromiseSettledResult<T>[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < tasks.length; i = next++) {
      try {
        results[i] = { status: 'fulfilled', value: await tasks[i]!() };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}
