import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, Proc } from './processes.js';

const binary = () => process.env.NATS_SERVER_BIN ?? 'nats-server';

/** A node of a cluster: its config file, and options on top of it (its cluster address, routes). */
export interface NodeConfig {
  file: string;
  options: string[];
}

/** A real `nats-server -js` on a free port with a temporary store; it can be killed and restarted on both. */
export class NatsServer {
  private proc?: Proc;

  private constructor(
    readonly port: number,
    readonly storeDir: string,
    private readonly node?: NodeConfig,
  ) {}

  static async start(node?: NodeConfig): Promise<NatsServer> {
    const server = new NatsServer(await freePort(), await mkdtemp(join(tmpdir(), 'mcp-pytest-nats-')), node);
    await server.up();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    // A node's file names its store relative to the working directory (nats-server 2.9 refuses -sd beside it): the temporary store.
    const store = this.node ? ['-c', this.node.file, ...this.node.options] : ['-sd', this.storeDir];
    this.proc = Proc.spawn('nats-server', binary(), ['-js', '-a', '127.0.0.1', '-p', String(this.port), ...store], {}, this.storeDir);
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
