import { z } from 'zod';
import { NatsEnv } from '#nats';
import { ReadModelEnv } from '#read-models';

export const QueryEnv = NatsEnv.extend(ReadModelEnv.shape).extend({
  READ_WAIT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(60_000)
    .default(2000)
    .describe('How long a read with min_seq waits for the projector to catch up.'),
  QUERY_CACHE_SESSIONS: z.coerce
    .number()
    .int()
    .min(0)
    .default(10_000)
    .describe('Session views kept in memory, dropped when their session changes (0: none).'),
});
export type QueryEnv = z.infer<typeof QueryEnv>;
