import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from './apps.js';
import { NatsServer } from './nats-server.js';
import { NatsProbe } from './nats-probe.js';

/** A whole system for one suite: its own nats-server, N projector replicas, the query app and N gateways. */
export class System {
  private constructor(
    readonly nats: NatsServer,
    readonly projectors: App[],
    readonly query: App,
    readonly gateways: App[],
    readonly probe: NatsProbe,
    /** READ_MODEL_URL of its projector and query app: a SQLite file of its own unless the suite gave one. */
    readonly readModelUrl: string,
    private readonly dataDir: string,
  ) {}

  static async start({
    gateways = 1,
    projectors = 1,
    env = {},
  }: { gateways?: number; projectors?: number; env?: Record<string, string> } = {}): Promise<System> {
    const nats = await NatsServer.start();
    const dataDir = mkdtempSync(join(tmpdir(), 'mcp-pytest-read-models-'));
    const appEnv = { NATS_URL: nats.url, READ_MODEL_URL: `sqlite:${join(dataDir, 'read-models.sqlite')}`, ...env };
    const [query, ...apps] = await Promise.all([
      App.start('query', appEnv),
      ...Array.from({ length: projectors }, () => App.start('projector', appEnv)),
      ...Array.from({ length: gateways }, () => App.start('gateway', appEnv)),
    ]);
    return new System(nats, apps.slice(0, projectors), query, apps.slice(projectors), await NatsProbe.connect(nats.url), appEnv.READ_MODEL_URL, dataDir);
  }

  /** The first projector replica. */
  get projector(): App {
    return this.projectors[0]!;
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
    return [...this.projectors, this.query, ...this.gateways].map((a) => `--- ${a.name}\n${a.proc.logs}`).join('\n');
  }

  async stop(): Promise<void> {
    await this.probe.close();
    await Promise.all([...this.gateways, this.query, ...this.projectors].map((app) => app.stop()));
    await this.nats.dispose();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
