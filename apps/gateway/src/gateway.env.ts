import { z } from 'zod';
import { AuthEnv } from '#auth';
import { AuditStreamEnv } from '#nats';

export const GatewayEnv = AuditStreamEnv.extend(AuthEnv.shape).extend({
  GATEWAY_HOST: z.string().min(1).default('127.0.0.1').describe('Address the Streamable HTTP endpoint binds.'),
  GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('Port of the Streamable HTTP endpoint.'),
  GATEWAY_ALLOWED_HOSTS: z.string().default('').describe('Host headers accepted on /mcp beyond 127.0.0.1, localhost and [::1] at the port (comma-separated).'),
  GATEWAY_ALLOWED_ORIGINS: z
    .string()
    .default('')
    .describe('Origin headers accepted on /mcp beyond http://127.0.0.1, localhost and [::1] at the port (comma-separated).'),
  APPROVAL_PROGRESS_SECONDS: z.coerce.number().positive().default(5).describe('How often a call waiting for approval reports progress.'),
  MCP_MAX_SESSIONS: z.coerce
    .number()
    .int()
    .min(1)
    .default(10_000)
    .describe('Open MCP sessions at most; beyond, the least recently used session of the agent holding the most is closed.'),
  MCP_MAX_SESSIONS_PER_AGENT: z.coerce
    .number()
    .int()
    .min(1)
    .default(1_000)
    .describe("Open MCP sessions of one agent at most; beyond, the agent's own least recently used is closed."),
  MCP_BODY_BUDGET_MB: z.coerce
    .number()
    .int()
    .min(4, 'must be at least 4: one request body may be 4 MiB')
    .default(32)
    .describe('MiB of HTTP request bodies read at once across all connections; beyond, a POST is answered 503 with Retry-After.'),
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
    .describe('A session written within this many seconds stays cached even beyond WRITE_CACHE_RESULTS (up to twice it).'),
});
export type GatewayEnv = z.infer<typeof GatewayEnv>;
