import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, Proc } from './processes.js';

const binary = () => process.env.NATS_SERVER_BIN ?? 'nats-server';

/** A config file for the server (e.g. nats/server-auth.conf) and the environment its variables come from. */
export interface NatsServerConfig {
  config: string;
  env: Record<string, string>;
}

/** A real `nats-server -js` on a free port with a temporary store; it can be killed and restarted on both. */
export class NatsServer {
  private proc?: Proc;

  private constructor(
    readonly port: number,
    readonly storeDir: string,
    private readonly configured?: NatsServerConfig,
  ) {}

  /** With `configured`, the server reads that file (its port, address and store are still the test's). */
  static async start(configured?: NatsServerConfig): Promise<NatsServer> {
    const server = new NatsServer(await freePort(), await mkdtemp(join(tmpdir(), 'mcp-pytest-nats-')), configured);
    await server.up();
    return server;
  }

  /** What the server logged (e.g. its permission violations). */
  get logs(): string {
    return this.proc?.logs ?? '';
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    const config = this.configured ? ['-c', this.configured.config] : [];
    this.proc = Proc.spawn('nats-server', binary(), [...config, '-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.storeDir], this.configured?.env);
    await this.proc.waitFor(/Server is ready/);
  }

  async stop(): Promise<void> {
    await this.proc?.stop('SIGTERM');
  }

  async kill(): Promise<void> {
    await this.proc?.kill();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.up();
  }

  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.storeDir, { recursive: true, force: true });
  }
}
