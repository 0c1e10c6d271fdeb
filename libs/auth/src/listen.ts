import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import { isLoopback, localIdentity, type OperatorHttpEnv } from './auth.env.js';
import type { KeyRing } from './key-ring.js';

/** Where an HTTP server listens, as a URL origin (`http://host:port`), and the Host headers that name this machine there. */
export interface Listening {
  origin: string;
  loopbackHosts: string[];
}

/**
 * Listens on `host:port` — beyond loopback only with keys, as without them every caller is the
 * local identity. `hostSetting` names the setting in the refusal.
 */
export async function listenGuarded(
  server: Server,
  { host, port, hostSetting }: { host: string; port: number; hostSetting: string },
  keys: KeyRing,
  config: ConfigService<OperatorHttpEnv, true>,
  log: Logger,
): Promise<Listening> {
  const { agent } = localIdentity(config);
  if (!keys.enabled && !isLoopback(host)) {
    throw new Error(
      `${hostSetting}=${host} is reachable from other machines, and there is no KEYS_FILE: every caller would be "${agent}". ` +
        'Set KEYS_FILE (create keys with `mcp-pytest keys add --agent A --grant G`), or bind 127.0.0.1.',
    );
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  if (!keys.enabled) log.warn(`no KEYS_FILE: loopback only, every caller is agent "${agent}"`);
  const { port: bound } = server.address() as AddressInfo;
  return {
    origin: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    loopbackHosts: ['127.0.0.1', 'localhost', '[::1]'].map((name) => `${name}:${bound}`),
  };
}
