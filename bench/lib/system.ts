// What the figures share: the benchmark's own nats-server, the three apps (projector, query, gateway)
// as processes, a NATS connection, and the RSS of the apps at each stage (figure 4); what the figures
// read from NATS (BenchNats) also serves figures that run systems of their own (the scaling figure).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { EVENT_PARTITIONS, EVENTS_STREAM, QUERY_PATTERNS, SESSIONS_BUCKET, type SessionView } from '#contracts';
import { projectorConsumers } from '#nats';
import { App, type AppName } from '../../test/harness/apps.js';
import { NatsServer } from '../../test/harness/nats-server.js';
import { CpuWindow, rssKiB } from './proc-stats.js';
import { nestRequest } from './requests.js';
import { onCleanup, onError, runningStep, step } from './run.js';

export interface RssRow {
  stage: string;
  gateway: number;
  projector: number;
  query: number;
  events: number;
}

/** The apps' RSS (KiB) sampled every RSS_SAMPLE_MS all through the run; `projectorPid`: which projector process. */
export interface RssSample {
  /** The bench step running when it was taken. */
  step: string;
  gateway: number;
  projector: number;
  query: number;
  projectorPid: number;
}

const RSS_SAMPLE_MS = 500;

export interface StoreCounters {
  events: number;
  viewWrites: number;
}

/** What the figures read over a NATS connection of their own: get-session, the event stream, the projectors' progress. */
export class BenchNats {
  readonly js: JetStreamClient;

  constructor(
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
  ) {
    this.js = jetstream(nc);
  }

  getSession(body: Record<string, unknown>, timeout = 10_000) {
    return nestRequest<SessionView>(this.nc, QUERY_PATTERNS.getSession, body, timeout);
  }

  async streamLastSeq(): Promise<number> {
    return (await this.jsm.streams.info(EVENTS_STREAM)).state.last_seq;
  }

  /** Messages in the event stream and view writes (KV puts) so far: to tell how many results an event holds and how often views are written. */
  async storeCounters(): Promise<StoreCounters> {
    const kv = await this.jsm.streams.info(`KV_${SESSIONS_BUCKET}`).catch(() => undefined);
    return { events: await this.streamLastSeq(), viewWrites: kv?.state.last_seq ?? 0 };
  }

  /**
   * The projector's consumers (one per partition) once every one has delivered and acknowledged
   * everything stored; else undefined.
   * Meaningful only after the writes it should cover were acknowledged.
   */
  async projectorsFolded(): Promise<string[] | undefined> {
    const consumers = await projectorConsumers(this.jsm);
    const idle = consumers.length >= EVENT_PARTITIONS && consumers.every((info) => info.num_pending === 0 && info.num_ack_pending === 0);
    return idle ? consumers.map((info) => info.name) : undefined;
  }
}

export class System extends BenchNats {
  /** RSS (KiB) of the apps at each stage, with the events in the stream by then. */
  readonly rss: RssRow[] = [];
  /** Every RSS_SAMPLE_MS from the start: peaks between the stages are seen too. */
  readonly rssSamples: RssSample[] = [];
  private sampler?: NodeJS.Timeout;

  private constructor(
    readonly nats: NatsServer,
    readonly natsPid: number | undefined,
    /** The apps' environment: the NATS server and the SQLite read-model store. */
    readonly env: Record<string, string>,
    readonly storePath: string,
    /** The apps as they run now (figure 2 replaces the projector); stopped at the end of the run. */
    readonly apps: Record<AppName, App>,
    nc: NatsConnection,
    jsm: JetStreamManager,
  ) {
    super(nc, jsm);
  }

  /** Starts nats-server and the apps (all stopped again at the end of the run); records the idle RSS. */
  static async start(): Promise<System> {
    const nats = await step('start nats-server', () => NatsServer.start());
    onCleanup('nats-server', () => nats.dispose());
    const natsPid = nats.pid;
    const dataDir = mkdtempSync(join(tmpdir(), 'mcp-pytest-bench-data-'));
    onCleanup('read-model store', async () => rmSync(dataDir, { recursive: true, force: true }));
    const storePath = join(dataDir, 'read-models.sqlite');
    const env = { NATS_URL: nats.url, READ_MODEL_URL: `sqlite:${storePath}` };
    const apps = {} as Record<AppName, App>;
    onError(() =>
      Object.entries(apps)
        .map(([name, app]) => `--- ${name} log (tail)\n${app.proc.logs.slice(-3000)}`)
        .join('\n'),
    );
    await step('start projector, query, gateway', async () => {
      for (const name of ['projector', 'query', 'gateway'] as const) {
        apps[name] = await App.start(name, env);
        onCleanup(name, () => apps[name].stop());
      }
    });
    const nc = await connect({ servers: nats.url, noAsyncTraces: true, name: 'bench' });
    onCleanup('bench NATS connection', () => nc.close());
    const system = new System(nats, natsPid, env, storePath, apps, nc, await jetstreamManager(nc));
    await system.recordRss('start (apps idle)');
    system.sampler = setInterval(() => system.sampleRss(), RSS_SAMPLE_MS);
    onCleanup('RSS sampler', async () => system.stopRssSampling());
    return system;
  }

  /** CPU of a server under load and of nats-server; with `apps`, of the projector and the query app too. */
  cpuWindow(server: number, apps: boolean): CpuWindow {
    const others = apps ? { projector: this.apps.projector.pid, query: this.apps.query.pid } : {};
    return new CpuWindow({ server, 'nats-server': this.natsPid, ...others });
  }

  async recordRss(stage: string): Promise<void> {
    const { gateway, projector, query } = this.apps;
    this.rss.push({ stage, gateway: appRss(gateway), projector: appRss(projector), query: appRss(query), events: await this.streamLastSeq() });
  }

  /** Ends the samples: the figures of this system are done (its apps stay up, idle, until the end of the run). */
  stopRssSampling(): void {
    clearInterval(this.sampler);
  }

  private sampleRss(): void {
    const { gateway, projector, query } = this.apps;
    this.rssSamples.push({ step: runningStep(), gateway: appRss(gateway), projector: appRss(projector), query: appRss(query), projectorPid: projector.pid });
  }
}

/** NaN while the app is not running (the projector between its stop and restart in figure 2). */
function appRss(app: App): number {
  try {
    return rssKiB(app.pid);
  } catch {
    return Number.NaN;
  }
}
