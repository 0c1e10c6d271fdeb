import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { KeyRing, listenGuarded, localIdentity, Unauthenticated, UNKNOWN_KEY } from '#auth';
import { answerMetrics, METRICS, metricsAccess, type MetricsAccess } from '#metrics';
import type { Registry } from 'prom-client';
import { NatsHealth } from '#nats';
import type { Identity } from '#contracts';
import type { GatewayEnv } from '../gateway.env.js';
import { buildMcpServer } from '../mcp/build-mcp-server.js';
import { McpConnection } from '../mcp/mcp-connection.js';
import { TOOL_DEPS } from '../mcp/tool-deps.provider.js';
import type { ToolDeps } from '../mcp/tools/tool.js';
import { PolicyGate } from '../policy/policy-gate.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { JsonResponseTransport } from './json-response.transport.js';
import { McpSessions } from './mcp-sessions.js';
import { sendJson, sendRpcError, sendWebResponse, toWebRequest } from './node-web.js';
import { BodyError, RequestBodies, UploadAbandoned } from './request-bodies.js';

const MiB = 1024 * 1024;
/** The MCP SDK transport's own default bound on a POST body. */
const MAX_BODY_BYTES = 4 * MiB;

interface McpHttpSession {
  identity: Identity;
  transport: JsonResponseTransport;
  server: McpServer;
  lastUsed: number;
}

/**
 * MCP over Streamable HTTP (stateful: one McpServer per `Mcp-Session-Id`) on bare node:http, with
 * the SDK's web-standard transport answering JSON (SSE only for a request that asks for progress):
 * the lean path measured fastest on this stack. Callers are authenticated by bearer key, and each
 * MCP session belongs to the identity that opened it. Also serves `GET /health` and `GET /metrics`.
 */
@Injectable()
export class McpHttpServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger('McpHttp');
  private readonly sessions: McpSessions<McpHttpSession>;
  private readonly bodies: RequestBodies;
  private readonly server: Server = createServer((req, res) => void this.route(req, res));
  private origin = '';
  private allowedHosts = new Set<string>();
  private metricsAccess!: MetricsAccess;
  private allowedOrigins = new Set<string>();
  private sweeper?: NodeJS.Timeout;
  private unwatchKeys?: () => void;

  constructor(
    private readonly config: ConfigService<GatewayEnv, true>,
    private readonly health: NatsHealth,
    @Inject(TOOL_DEPS) private readonly deps: ToolDeps,
    private readonly keys: KeyRing,
    private readonly gate: PolicyGate,
    @Inject(METRICS) private readonly registry: Registry,
    private readonly metrics: GatewayMetrics,
  ) {
    this.sessions = new McpSessions(config.get('MCP_MAX_SESSIONS', { infer: true }), config.get('MCP_MAX_SESSIONS_PER_AGENT', { infer: true }));
    this.bodies = new RequestBodies(MAX_BODY_BYTES, config.get('MCP_BODY_BUDGET_MB', { infer: true }) * MiB);
    this.metrics.countSessions('http', () => this.sessions.size);
  }

  async onApplicationBootstrap(): Promise<void> {
    const host = this.config.get('GATEWAY_HOST', { infer: true });
    const port = this.config.get('GATEWAY_PORT', { infer: true });
    const { origin, loopbackHosts } = await listenGuarded(this.server, { host, port, hostSetting: 'GATEWAY_HOST' }, this.keys, this.config, this.log);
    this.origin = origin;
    const listed = (name: 'GATEWAY_ALLOWED_HOSTS' | 'GATEWAY_ALLOWED_ORIGINS') =>
      this.config
        .get(name, { infer: true })
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean);
    this.metricsAccess = metricsAccess(this.keys, this.config, loopbackHosts);
    this.allowedHosts = new Set([...loopbackHosts, ...listed('GATEWAY_ALLOWED_HOSTS')]);
    this.allowedOrigins = new Set([...loopbackHosts.map((h) => `http://${h}`), ...listed('GATEWAY_ALLOWED_ORIGINS')]);
    this.log.log(`MCP Streamable HTTP at ${this.origin}/mcp`);
    const idleMs = this.config.get('MCP_SESSION_IDLE_MINUTES', { infer: true }) * 60_000;
    this.sweeper = setInterval(() => this.closeIdle(idleMs), Math.min(idleMs, 60_000)).unref();
    this.unwatchKeys = this.keys.onChange(() => this.closeRevoked());
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.sweeper);
    this.unwatchKeys?.();
    await Promise.all(this.sessions.ids().map((id) => this.close(id)));
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    try {
      if (path === '/health' && (req.method === 'GET' || req.method === 'HEAD')) return this.sendHealth(res);
      if (path === '/metrics') return await answerMetrics(this.registry, this.metricsAccess, req, res);
      if (path !== '/mcp') return sendJson(res, 404, { error: `no such endpoint: ${req.method} ${path}; MCP is at /mcp` });
      // An answer below may leave the body unread; Node would drain these (chunked, or over the limit) without bound.
      if (this.bodies.undrainable(req)) res.once('finish', () => this.bodies.linger(req));
      const forbidden = this.foreign(req);
      if (forbidden) return sendRpcError(res, 403, -32000, `Forbidden: ${forbidden}`);
      const identity = this.keys.enabled ? this.keys.authenticate(req.headers.authorization) : localIdentity(this.config);
      if (identity instanceof Unauthenticated) return unauthorized(res, identity);
      if (req.method === 'POST') return await this.post(identity, req, res);
      if (req.method === 'GET' || req.method === 'DELETE') return await this.forward(this.existing(identity, req, res), req, res);
      res.setHeader('allow', 'GET, POST, DELETE');
      return sendRpcError(res, 405, -32000, `Method not allowed: ${req.method}`);
    } catch (error) {
      if (error instanceof BodyError) return this.refuseBody(res, error);
      if (error instanceof UploadAbandoned) return this.log.log(`${req.method} ${path}: ${error.message}`);
      this.log.error(`${req.method} ${path} failed`, (error as Error).stack);
      if (!res.headersSent) sendRpcError(res, 500, -32603, 'Internal error');
      else res.end();
    }
  }

  /**
   * Why a request comes from where it must not (DNS rebinding, a web page of another origin), or
   * undefined: the Streamable HTTP spec asks servers to check Origin, and a loopback server its Host.
   */
  private foreign(req: IncomingMessage): string | undefined {
    const { host, origin } = req.headers;
    if (host === undefined || !this.allowedHosts.has(host)) return `Host "${host ?? ''}" is not allowed (GATEWAY_ALLOWED_HOSTS)`;
    if (origin !== undefined && !this.allowedOrigins.has(origin)) return `Origin "${origin}" is not allowed (GATEWAY_ALLOWED_ORIGINS)`;
    return undefined;
  }

  private sendHealth(res: ServerResponse): void {
    const connected = this.health.isConnected;
    sendJson(res, connected ? 200 : 503, { status: connected ? 'ok' : 'unavailable', nats: connected ? 'connected' : 'disconnected' });
  }

  private refuseBody(res: ServerResponse, error: BodyError): void {
    if (error.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(error.retryAfterSeconds));
    sendRpcError(res, error.status, error.rpcCode, error.message);
  }

  private async post(identity: Identity, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.headers['mcp-session-id'] !== undefined) {
      // Found (or refused) before the body is read: a refusal costs no memory, whatever the body's size.
      const session = this.existing(identity, req, res);
      if (!session) return;
      const receivedAt = performance.now();
      const body = await this.bodies.readJson(req);
      this.metrics.stage('receive', receivedAt);
      const id = session.transport.sessionId!;
      // Closed while its body arrived (key revoked, evicted, idle).
      if (this.sessions.get(id) !== session) return sessionNotFound(res, id);
      return this.forward(session, req, res, body);
    }
    const body = await this.bodies.readJson(req);
    if (!isInitializeRequest(body)) {
      return sendRpcError(res, 400, -32000, 'Bad Request: no Mcp-Session-Id header, and the request is not an initialize request');
    }
    // Revoked while the body arrived: no new session for a key that is gone.
    if (this.keys.enabled && !this.keys.proves(identity)) return unauthorized(res, UNKNOWN_KEY);
    const session = await this.open(identity);
    await this.forward(session, req, res, body);
    // An initialize the transport refused (e.g. a wrong Accept header) opened no MCP session: let go of it.
    if (!this.sessions.get(session.transport.sessionId ?? '')) await session.server.close();
  }

  /** The caller's session named by the request's Mcp-Session-Id, or undefined after answering 400/403/404. */
  private existing(identity: Identity, req: IncomingMessage, res: ServerResponse): McpHttpSession | undefined {
    const id = req.headers['mcp-session-id'];
    if (typeof id !== 'string') return void sendRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    const session = this.sessions.get(id);
    if (!session) return void sessionNotFound(res, id);
    if (session.identity.agent !== identity.agent || session.identity.grant !== identity.grant) {
      return void sendRpcError(res, 403, -32000, `Forbidden: MCP session ${id} belongs to another agent`);
    }
    return session;
  }

  private async open(identity: Identity): Promise<McpHttpSession> {
    const connection = new McpConnection(identity, 'http');
    const server = buildMcpServer(connection, this.deps);
    const transport = new JsonResponseTransport({
      sessionIdGenerator: () => connection.id,
      onsessioninitialized: (id) => this.admit(id, session),
      onsessionclosed: (id) => void this.sessions.delete(id),
    });
    const session: McpHttpSession = { identity, transport, server, lastUsed: Date.now() };
    await server.connect(this.gate.guard(transport, connection));
    return session;
  }

  private async forward(session: McpHttpSession | undefined, req: IncomingMessage, res: ServerResponse, body?: unknown) {
    if (!session) return;
    if (session.transport.sessionId !== undefined) this.sessions.touch(session.transport.sessionId, Date.now());
    const response = await session.transport.handleRequest(toWebRequest(req, this.origin), { parsedBody: body });
    await sendWebResponse(response, res);
  }

  private admit(id: string, session: McpHttpSession): void {
    void this.sessions.admit(id, session)?.server.close();
  }

  /** Closes the MCP sessions (and their event streams) of keys no longer in the keys file. */
  private closeRevoked(): void {
    const revoked = this.sessions.ids().filter((id) => !this.keys.proves(this.sessions.get(id)!.identity));
    if (revoked.length === 0) return;
    this.log.log(`closing ${revoked.length} MCP session(s) whose key was revoked`);
    for (const id of revoked) void this.close(id);
  }

  private closeIdle(idleMs: number): void {
    for (const id of this.sessions.idleSince(Date.now() - idleMs)) void this.close(id);
  }

  private async close(id: string): Promise<void> {
    const session = this.sessions.get(id);
    this.sessions.delete(id);
    await session?.server.close();
  }
}

const unauthorized = (res: ServerResponse, why: Unauthenticated) => {
  res.setHeader('www-authenticate', 'Bearer realm="mcp-pytest"');
  sendRpcError(res, 401, -32001, `Unauthorized: ${why.message}`);
};

/** 404 tells the client to start a new MCP session (Streamable HTTP spec). */
const sessionNotFound = (res: ServerResponse, id: string) => sendRpcError(res, 404, -32001, `Session not found: ${id}`);
