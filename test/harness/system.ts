import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from './apps.js';
import { NatsCluster } from './nats-cluster.js';
import { NatsServer } from './nats-server.js';
import { NatsProbe } from './nats-probe.js';

export interface SystemOptions {
  gateways?: number;
  env?: Record<string, string>;
}

/**
 * A whole system for one suite: its own nats-server (or 3-node cluster: `System.onCluster`), the projector,
 * the query app and N gateways.
 */
export class System<Nats extends NatsServer | NatsCluster = NatsServer> {
  private constructor(
    readonly nats: Nats,
    readonly projector: App,
    readonly query: App,
    readonly gateways: App[],
    readonly probe: NatsProbe,
    /** READ_MODEL_URL of its projector and query app: a SQLite file of its own unless the suite gave one. */
    readonly readModelUrl: string,
    private readonly dataDir: string,
  ) {}

  static async start(options: SystemOptions = {}): Promise<System> {
    return System.startOn(await NatsServer.start(), options);
  }

  /** The apps against all three nodes of a NatsCluster (replicas 3, as NATS_REPLICAS=auto gives there). */
  static async onCluster(options: SystemOptions = {}): Promise<System<NatsCluster>> {
    return System.startOn(await NatsCluster.start(), options);
  }

  private static async startOn<Nats extends NatsServer | NatsCluster>(nats: Nats, { gateways = 1, env = {} }: SystemOptions): Promise<System<Nats>> {
    const dataDir = mkdtempSync(join(tmpdir(), 'mcp-pytest-read-models-'));
    const appEnv = { NATS_URL: nats.url, READ_MODEL_URL: `sqlite:${join(dataDir, 'read-models.sqlite')}`, ...env };
    const [projector, query, ...gatewayApps] = await Promise.all([
      App.start('projector', appEnv),
      App.start('query', appEnv),
      ...Array.from({ length: gateways }, () => App.start('gateway', appEnv)),
    ]);
    return new System<Nats>(nats, projector, query, gatewayApps, await NatsProbe.connect(nats.url), appEnv.READ_MODEL_URL, dataDir);
  }

  get gateway(): App {
    return this.gateways[0]!;
  }

  /** The query app's dashboard and HTTP API (`/api/…`). */
  get queryHttpUrl(): URL {
    return this.query.httpUrl;
  }

  /** Environment for another process of this system (e.g. a stdio gateway). */
  get env(): Record<string, string> {
    return { NATS_URL: this.nats.url, READ_MODEL_URL: this.readModelUrl };
  }

  /** Logs of every app, for a failing test's message. */
  get logs(): string {
    return [this.projector, this.query, ...this.gateways].map((a) => `--- ${a.name}\n${a.proc.logs}`).join('\n');
  }

  async stop(): Promise<void> {
    await this.probe.close();
    await Promise.all([...this.gateways, this.query, this.projector].map((app) => app.stop()));
    await this.nats.dispose();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
