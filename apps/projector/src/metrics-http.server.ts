import { createServer, type Server } from 'node:http';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Registry } from 'prom-client';
import { KeyRing, listenGuarded } from '#auth';
import { answerMetrics, METRICS, metricsAccess, type MetricsAccess } from '#metrics';
import type { ProjectorEnv } from './projector.env.js';

/** The projector serves no callers; its metrics get a port of their own (PROJECTOR_METRICS_PORT), guarded as the other apps' HTTP. */
@Injectable()
export class MetricsHttpServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger('Metrics');
  private readonly server: Server;
  /** Set once it listens: no request comes before. */
  private access!: MetricsAccess;

  constructor(
    private readonly config: ConfigService<ProjectorEnv, true>,
    private readonly keys: KeyRing,
    @Inject(METRICS) registry: Registry,
  ) {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?', 1)[0];
      if (path !== '/metrics') return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`no such endpoint: ${path}; metrics are at /metrics\n`);
      answerMetrics(registry, this.access, req, res).catch((error: unknown) => {
        this.log.error(`/metrics failed: ${(error as Error).message}`);
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    const host = this.config.get('PROJECTOR_METRICS_HOST', { infer: true });
    const port = this.config.get('PROJECTOR_METRICS_PORT', { infer: true });
    const listening = await listenGuarded(this.server, { host, port, hostSetting: 'PROJECTOR_METRICS_HOST' }, this.keys, this.config, this.log);
    this.access = metricsAccess(this.keys, this.config, listening.loopbackHosts);
    this.log.log(`metrics at ${listening.origin}/metrics`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
