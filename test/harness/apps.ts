import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, Proc } from './processes.js';

/** The project root: the nearest folder with a package.json (the harness also runs compiled, from dist/). */
export const root = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    if (dirname(dir) === dir) throw new Error('no package.json above the test harness');
    dir = dirname(dir);
  }
  return dir;
})();
export const distEntry = (path: string) => join(root, 'dist', path);

const READY: Record<AppName, RegExp> = {
  gateway: /MCP Streamable HTTP at (http:\/\/\S+)\/mcp/,
  projector: /folding PYTEST_EVENTS into session views/,
  query: /Nest microservice successfully started/,
};
/** The query app's log line naming where its dashboard and HTTP API listen. */
const DASHBOARD_AT = /Dashboard and HTTP API at (http:\/\/\S+\/)/;
/** The projector's log line naming where its metrics are. */
const PROJECTOR_METRICS_AT = /metrics at (http:\/\/\S+\/metrics)/;
/** Each app's port setting, and what a test gives it unless set: a free port (the gateway's URL is built from the setting), or 0. */
const PORT_SETTING: Record<AppName, [setting: string, anyPort: () => Promise<string>]> = {
  gateway: ['GATEWAY_PORT', async () => String(await freePort())],
  query: ['QUERY_HTTP_PORT', async () => '0'],
  projector: ['PROJECTOR_METRICS_PORT', async () => '0'],
};
const ENTRY: Record<AppName, string> = {
  gateway: 'apps/gateway/src/main.js',
  projector: 'apps/projector/src/main.js',
  query: 'apps/query/src/main.js',
};

export type AppName = 'gateway' | 'projector' | 'query';

/** One of the built apps as its own node process, started and awaited until it says it is ready. */
export class App {
  private constructor(
    readonly name: AppName,
    readonly env: Record<string, string>,
    private readonly nodeArgs: string[],
    public proc: Proc,
  ) {}

  private servedAt?: URL;
  private metricsAt?: URL;

  /** `nodeArgs` go to node before the entry (e.g. `--cpu-prof` for the benchmark's profiles). */
  static async start(name: AppName, env: Record<string, string>, nodeArgs: string[] = []): Promise<App> {
    const [setting, anyPort] = PORT_SETTING[name];
    const fullEnv = env[setting] ? env : { ...env, [setting]: await anyPort() };
    const app = new App(name, fullEnv, nodeArgs, launch(name, fullEnv, nodeArgs));
    try {
      await app.ready();
    } catch (error) {
      await app.proc.kill();
      throw error;
    }
    return app;
  }

  /** The query app's dashboard and HTTP API, as it logged it (its port may be any free one). */
  get httpUrl(): URL {
    if (!this.servedAt) throw new Error(`${this.name} serves no dashboard`);
    return this.servedAt;
  }

  /** Where the app answers GET /metrics, as it logged it. */
  get metricsUrl(): URL {
    if (this.name === 'gateway') return new URL(`http://127.0.0.1:${this.env.GATEWAY_PORT}/metrics`);
    if (this.name === 'query') return new URL('metrics', this.httpUrl);
    if (!this.metricsAt) throw new Error('the projector logged no metrics address');
    return this.metricsAt;
  }

  get pid(): number {
    return this.proc.child.pid!;
  }

  /** The MCP endpoint of a gateway. */
  get mcpUrl(): URL {
    return new URL(`http://127.0.0.1:${this.env.GATEWAY_PORT}/mcp`);
  }

  /** Stops (or with `kill`, SIGKILLs: nothing gets to shut down cleanly) and starts the app again. */
  async restart({ kill = false } = {}): Promise<void> {
    await (kill ? this.proc.kill() : this.proc.stop());
    this.proc = launch(this.name, this.env, this.nodeArgs);
    await this.ready();
  }

  private async ready(): Promise<void> {
    await this.proc.waitFor(READY[this.name]);
    if (this.name === 'query') this.servedAt = new URL((await this.proc.waitFor(DASHBOARD_AT))[1]!);
    if (this.name === 'projector') this.metricsAt = new URL((await this.proc.waitFor(PROJECTOR_METRICS_AT))[1]!);
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    return this.proc.stop(signal);
  }
}

const launch = (name: AppName, env: Record<string, string>, nodeArgs: string[]) =>
  Proc.spawn(name, process.execPath, [...nodeArgs, distEntry(ENTRY[name])], env);
