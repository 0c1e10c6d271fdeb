import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, Proc } from './processes.js';

const binary = () => process.env.NATS_SERVER_BIN ?? 'nats-server';

/**
 * A server config file (e.g. nats/server-auth.conf, or a cluster node's), options on top of it (a node's
 * cluster address and routes) and the environment its `$VARIABLES` come from.
 */
export interface NatsServerConfig {
  file: string;
  options?: string[];
  env?: Record<string, string>;
}

/** A real `nats-server -js` on a free port with a temporary store; it can be killed and restarted on both. */
export class NatsServer {
  private proc?: Proc;

  private constructor(
    readonly port: number,
    readonly storeDir: string,
    private readonly configured?: NatsServerConfig,
  ) {}

  /** With `configured`, the server reads that file; its port and address are still the test's, and so is its store. */
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

  /** The running server's process id (for its CPU and memory in /proc). */
  get pid(): number | undefined {
    return this.proc?.running ? this.proc.child.pid : undefined;
  }

  async up(): Promise<void> {
    const config = this.configured ? ['-c', this.configured.file, ...(this.configured.options ?? [])] : [];
    // A file that names its store does so relative to the working directory (nats-server 2.9 refuses -sd beside it): the temporary store.
    const store = this.configured && /^\s*store_dir\s*:/m.test(readFileSync(this.configured.file, 'utf8')) ? [] : ['-sd', this.storeDir];
    this.proc = Proc.spawn(
      'nats-server',
      binary(),
      [...config, '-js', '-a', '127.0.0.1', '-p', String(this.port), ...store],
      this.configured?.env ?? {},
      this.storeDir,
    );
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
