import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConfigService } from '@nestjs/config';
import type { Registry } from 'prom-client';
import { Unauthenticated, type KeyRing, type OperatorHttpEnv } from '#auth';

/** Who may read an app's `/metrics`: with keys, only keys of the grants listed; without, loopback callers (the only ones an app then serves). */
export interface MetricsAccess {
  keys: Pick<KeyRing, 'enabled' | 'authenticate'>;
  /** The grants of METRICS_GRANTS. */
  grants: ReadonlySet<string>;
  /** Host headers naming this machine at the port: without keys, no other is answered (DNS rebinding). */
  loopbackHosts: ReadonlySet<string>;
}

/** An app's MetricsAccess, once it listens (`loopbackHosts` as listenGuarded names them). */
export const metricsAccess = (keys: MetricsAccess['keys'], config: ConfigService<OperatorHttpEnv, true>, loopbackHosts: Iterable<string>): MetricsAccess => ({
  keys,
  grants: new Set(
    config
      .get('METRICS_GRANTS', { infer: true })
      .split(',')
      .map((grant) => grant.trim())
      .filter(Boolean),
  ),
  loopbackHosts: new Set(loopbackHosts),
});

/**
 * Answers `GET /metrics` in the Prometheus text format. Metrics span every grant's calls, so a key
 * sees them only when its grant is listed in METRICS_GRANTS: an agent's key is not an operator's.
 */
export async function answerMetrics(registry: Registry, access: MetricsAccess, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const refusal = metricsRefusal(access, req);
  if (refusal) {
    if (refusal.status === 401) res.setHeader('www-authenticate', 'Bearer');
    if (refusal.status === 405) res.setHeader('allow', 'GET, HEAD');
    res.writeHead(refusal.status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${refusal.message}\n`);
    return;
  }
  const text = await registry.metrics();
  res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text);
}

function metricsRefusal({ keys, grants, loopbackHosts }: MetricsAccess, req: IncomingMessage): { status: number; message: string } | undefined {
  if (req.method !== 'GET' && req.method !== 'HEAD') return { status: 405, message: `${req.method} /metrics: only GET is answered` };
  if (!keys.enabled) {
    const host = req.headers.host ?? '';
    return loopbackHosts.has(host)
      ? undefined
      : { status: 403, message: `Host "${host}" is not this machine's (without KEYS_FILE, /metrics answers loopback only)` };
  }
  const identity = keys.authenticate(req.headers.authorization);
  if (identity instanceof Unauthenticated) return { status: 401, message: `/metrics: ${identity.message}` };
  if (!grants.has(identity.grant)) {
    return { status: 403, message: `/metrics: grant "${identity.grant}" may not read metrics (METRICS_GRANTS lists the grants that may)` };
  }
  return undefined;
}
