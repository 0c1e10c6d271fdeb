import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, Proc } from './processes.js';

const binary = () => process.env.NATS_SERVER_BIN ?? 'nats-server';

/** A real `nats-server -js` on a free port with a temporary store; it can be killed and restarted on both. */
export class NatsServer {
  private proc?: Proc;

  private constructor(
    readonly port: number,
    readonly storeDir: string,
  ) {}

  static async start(): Promise<NatsServer> {
    const server = new NatsServer(await freePort(), await mkdtemp(join(tmpdir(), 'mcp-pytest-nats-')));
    await server.up();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    this.proc = Proc.spawn('nats-server', binary(), ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.storeDir]);
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
