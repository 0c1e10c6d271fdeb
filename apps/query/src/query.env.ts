import { z } from 'zod';
import { AuthEnv } from '#auth';
import { AuditStreamEnv } from '#nats';
import { ReadModelEnv } from '#read-models';

export const QueryEnv = AuditStreamEnv.extend(ReadModelEnv.shape)
  .extend(AuthEnv.shape)
  .extend({
    READ_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(2000).describe('How long a read with min_seq waits for the projector to catch up.'),
    QUERY_CACHE_SESSIONS: z.coerce
      .number()
      .int()
      .min(0)
      .default(10_000)
      .describe('Session views kept in memory, dropped when their session changes (0: none).'),
    QUERY_HTTP_HOST: z.string().min(1).default('127.0.0.1').describe('Address the dashboard and HTTP API bind.'),
    QUERY_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3001).describe('Port of the dashboard and HTTP API (0: any free port).'),
    QUERY_SSE_MAX_CLIENTS: z.coerce.number().int().min(1).default(1000).describe('Open /api/events streams at most; beyond, a new one is answered 503.'),
  });
export type QueryEnv = z.infer<typeof QueryEnv>;
