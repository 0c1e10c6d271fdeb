import { z } from 'zod';
import type { ConfigService } from '@nestjs/config';
import { AgentName, GrantName, type Identity } from '#contracts';

/** Who may call, and what: the settings every app that serves callers (the gateway, the query app's HTTP API) shares. */
export const AuthEnv = z.object({
  GATEWAY_AGENT: AgentName.default('local').describe('Agent of stdio callers, and of HTTP callers when there is no KEYS_FILE.'),
  GATEWAY_GRANT: GrantName.default('local').describe('Grant of stdio callers, and of HTTP callers when there is no KEYS_FILE.'),
  KEYS_FILE: z.string().default('').describe('Bearer keys of HTTP callers (written by `mcp-pytest keys add`). Without it, HTTP binds loopback only.'),
  POLICY_FILE: z.string().default('').describe('Policy file (allow/deny, limits, approvals per grant). Without it, every call is allowed.'),
  METRICS_GRANTS: z.string().default('').describe('Grants whose keys may read GET /metrics (comma-separated). Without KEYS_FILE, loopback callers may.'),
});
export type AuthEnv = z.infer<typeof AuthEnv>;

/** What an app that serves HTTP to operators only (the projector's metrics) needs of AuthEnv: keys, and who may read. */
export const OperatorHttpEnv = AuthEnv.pick({ GATEWAY_AGENT: true, GATEWAY_GRANT: true, KEYS_FILE: true, METRICS_GRANTS: true });
export type OperatorHttpEnv = z.infer<typeof OperatorHttpEnv>;

/** Who stdio callers are, and HTTP callers when there is no keys file. */
export const localIdentity = (config: ConfigService<OperatorHttpEnv, true>): Identity => ({
  agent: config.get('GATEWAY_AGENT', { infer: true }),
  grant: config.get('GATEWAY_GRANT', { infer: true }),
});

/** Addresses only this machine can reach: the one place an HTTP server serves without keys. */
export const isLoopback = (host: string): boolean => /^(127(\.\d{1,3}){3}|::1|\[::1\]|localhost)$/i.test(host);
