import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, Proc } from './processes.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const distEntry = (path: string) => join(root, 'dist', path);

const READY: Record<AppName, RegExp> = {
  gateway: /MCP Streamable HTTP at (http:\/\/\S+)\/mcp/,
  projector: /folding PYTEST_EVENTS into session views/,
  query: /Nest microservice successfully started/,
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
    public proc: Proc,
  ) {}

  static async start(name: AppName, env: Record<string, string>): Promise<App> {
    const fullEnv = name === 'gateway' && !env.GATEWAY_PORT ? { ...env, GATEWAY_PORT: String(await freePort()) } : env;
    const app = new App(name, fullEnv, launch(name, fullEnv));
    await app.proc.waitFor(READY[name]);
    return app;
  }

  /** The MCP endpoint of a gateway. */
  get mcpUrl(): URL {
    return new URL(`http://127.0.0.1:${this.env.GATEWAY_PORT}/mcp`);
  }

  /** Stops (or with `kill`, SIGKILLs: nothing gets to shut down cleanly) and starts the app again. */
  async restart({ kill = false } = {}): Promise<void> {
    await (kill ? this.proc.kill() : this.proc.stop());
    this.proc = launch(this.name, this.env);
    await this.proc.waitFor(READY[this.name]);
  }

  stop(): Promise<number | null> {
    return this.proc.stop();
  }
}

const launch = (name: AppName, env: Record<string, string>) => Proc.spawn(name, process.execPath, [distEntry(ENTRY[name])], env);
