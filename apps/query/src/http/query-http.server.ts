import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { KeyRing, listenGuarded, localIdentity, PolicySource, Unauthenticated } from '#auth';
import { ChangeFeedInput, type Identity } from '#contracts';
import { readOwner } from '#domain';
import { answerMetrics, METRICS, metricsAccess, type MetricsAccess } from '#metrics';
import { NatsHealth } from '#nats';
import type { Registry } from 'prom-client';
import type { QueryEnv } from '../query.env.js';
import { allow, ApiReads, READ_ROUTES } from './api-reads.js';
import { ChangeFeed } from './change-feed.js';
import { serveDashboardFile } from './dashboard-files.js';
import { HttpRefusal, refusalOf, sendJson, sendRefusal, setSecurityHeaders } from './http-answers.js';
import { parseParams, queryParams } from './query-params.js';

/**
 * The dashboard and the HTTP API (GET only) on bare node:http: the reads of the MCP tools under
 * `/api/…` with the same parameters, rules and JSON, `/api/events` (Server-Sent Events of changes)
 * and the dashboard's files at `/`. Callers are authenticated as by the gateway: a bearer key from
 * KEYS_FILE, or — without one — loopback only, every caller the local identity.
 */
@Injectable()
export class QueryHttpServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger('QueryHttp');
  private readonly server: Server = createServer((req, res) => void this.route(req, res));
  private loopbackHosts = new Set<string>();
  private metricsAccess!: MetricsAccess;
  private unwatchKeys?: () => void;

  constructor(
    private readonly config: ConfigService<QueryEnv, true>,
    private readonly health: NatsHealth,
    private readonly keys: KeyRing,
    private readonly policies: PolicySource,
    private readonly reads: ApiReads,
    private readonly feed: ChangeFeed,
    @Inject(METRICS) private readonly registry: Registry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const host = this.config.get('QUERY_HTTP_HOST', { infer: true });
    const port = this.config.get('QUERY_HTTP_PORT', { infer: true });
    const { origin, loopbackHosts } = await listenGuarded(this.server, { host, port, hostSetting: 'QUERY_HTTP_HOST' }, this.keys, this.config, this.log);
    this.loopbackHosts = new Set(loopbackHosts);
    this.metricsAccess = metricsAccess(this.keys, this.config, loopbackHosts);
    this.log.log(`Dashboard and HTTP API at ${origin}/`);
    this.unwatchKeys = this.keys.onChange(() => this.feed.closeWhere((identity) => !this.keys.proves(identity)));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.unwatchKeys?.();
    this.feed.closeWhere(() => true);
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [path = '/', search = ''] = (req.url ?? '/').split('?', 2) as [string?, string?];
    setSecurityHeaders(res);
    try {
      // Without keys anyone who can make a browser send a request here is trusted: a page of another
      // site must not reach it through a DNS name of its own that points at 127.0.0.1 (DNS rebinding).
      if (!this.keys.enabled && !this.loopbackHosts.has(req.headers.host ?? '')) {
        throw new HttpRefusal(
          403,
          'HOST_NOT_ALLOWED',
          `Host "${req.headers.host ?? ''}" is not this machine's (without KEYS_FILE, only 127.0.0.1, localhost and [::1] at the port)`,
        );
      }
      if (path === '/metrics') return await answerMetrics(this.registry, this.metricsAccess, req, res);
      if (!path.startsWith('/api/')) {
        if ((req.method === 'GET' || req.method === 'HEAD') && (await serveDashboardFile(path, req, res))) return;
        throw new HttpRefusal(404, 'NO_SUCH_ENDPOINT', `no such file: ${path}; the API is under /api/`);
      }
      if (req.method !== 'GET') {
        res.setHeader('allow', 'GET');
        throw new HttpRefusal(405, 'NO_SUCH_ENDPOINT', `${req.method} is not answered: the HTTP API reads only (GET)`);
      }
      if (path === '/api/health') return this.sendHealth(req, res);
      const params = queryParams(search);
      if (path === '/api/events') return await this.events(req, res, params);
      for (const { path: pattern, tool } of READ_ROUTES) {
        const match = pattern.exec(path);
        if (match) return sendJson(req, res, 200, await this.reads.answer(tool, this.caller(req), params, decodeSegment(match[1])));
      }
      throw new HttpRefusal(404, 'NO_SUCH_ENDPOINT', `no such endpoint: GET ${path}`);
    } catch (error) {
      const refusal = refusalOf(error);
      if (refusal && !res.headersSent) return sendRefusal(req, res, refusal);
      if (refusal) return void res.end();
      this.log.error(`${req.method} ${path} failed`, (error as Error).stack);
      if (!res.headersSent) sendRefusal(req, res, new HttpRefusal(500, 'INTERNAL', 'internal error (logged by the query app)'));
      else res.destroy();
    }
  }

  /** Who calls: the bearer key's identity, or the local identity without a keys file. `token`: a key given otherwise than by header. */
  private caller(req: IncomingMessage, token?: string): Identity {
    if (!this.keys.enabled) return localIdentity(this.config);
    const identity = this.keys.authenticate(req.headers.authorization ?? (token === undefined ? undefined : `Bearer ${token}`));
    if (identity instanceof Unauthenticated) throw new HttpRefusal(401, 'UNAUTHENTICATED', identity.message);
    return identity;
  }

  /** `/api/events`: browsers' EventSource sends no headers, so here (only) the key may come as `access_token`, and the resume point as `last_event_id`. */
  private async events(req: IncomingMessage, res: ServerResponse, { access_token: token, ...params }: Record<string, string>): Promise<void> {
    const identity = this.caller(req, token);
    const policy = this.policies.current;
    allow(policy, identity, 'list_sessions', params);
    const header = req.headers['last-event-id'];
    const args = parseParams(ChangeFeedInput, typeof header === 'string' ? { ...params, last_event_id: header } : params);
    const owner = readOwner(policy, identity, args.owner);
    await this.feed.follow(identity, { owner, sessionId: args.session_id, project: args.project }, args.last_event_id, res);
  }

  private sendHealth(req: IncomingMessage, res: ServerResponse): void {
    const connected = this.health.isConnected;
    sendJson(req, res, connected ? 200 : 503, { status: connected ? 'ok' : 'unavailable', nats: connected ? 'connected' : 'disconnected' });
  }
}

/** A path segment as the id it names; a malformed escape is a bad parameter. */
function decodeSegment(segment: string | undefined): string | undefined {
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpRefusal(400, 'INVALID_ARGUMENTS', 'session_id: not a valid URL path segment');
  }
}
