import { z } from 'zod';
import { NatsEnv } from '#nats';

export const GatewayEnv = NatsEnv.extend({
  GATEWAY_HOST: z.string().min(1).default('127.0.0.1').describe('Address the Streamable HTTP endpoint binds.'),
  GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('Port of the Streamable HTTP endpoint.'),
  GATEWAY_ALLOWED_HOSTS: z
    .string()
    .default('')
    .describe('Host headers accepted on /mcp beyond 127.0.0.1, localhost and [::1] at the port (comma-separated).'),
  GATEWAY_ALLOWED_ORIGINS: z
    .string()
    .default('')
    .describe('Origin headers accepted on /mcp beyond http://127.0.0.1, localhost and [::1] at the port (comma-separated).'),
  GATEWAY_AGENT: z.string().min(1).max(128).default('local').describe('Agent name written into events as their actor.'),
  MCP_MAX_SESSIONS: z.coerce.number().int().min(1).default(10_000).describe('Open MCP sessions at most; beyond, the least recently used is closed.'),
  MCP_SESSION_IDLE_MINUTES: z.coerce.number().positive().default(30).describe('An MCP session unused this long is closed.'),
  WRITE_TIMEOUT_MS: z.coerce.number().int().positive().default(5000).describe('How long a write waits for JetStream to acknowledge it.'),
  QUERY_TIMEOUT_MS: z.coerce.number().int().positive().default(5000).describe('How long a read waits for the query app.'),
  WRITE_CACHE_RESULTS: z.coerce
    .number()
    .int()
    .positive()
    .default(200_000)
    .describe('Test results of recently written sessions kept in memory to recognise retries (~400 B each).'),
  WRITE_CACHE_KEEP_SECONDS: z.coerce
    .number()
    .min(0)
    .default(10)
    .describe('A session written within this many seconds stays cached even beyond WRITE_CACHE_RESULTS.'),
});
export type GatewayEnv = z.infer<typeof GatewayEnv>;
