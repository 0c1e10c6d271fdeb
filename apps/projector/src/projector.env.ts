import { z } from 'zod';
import { NatsEnv } from '#nats';
import { ReadModelEnv } from '#read-models';

export const ProjectorEnv = NatsEnv.extend(ReadModelEnv.shape).extend({
  PROJECTOR_BATCH: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(2000)
    .describe('Events held unacked at most, over all partitions (each partition consumer pulls its share).'),
  VIEW_CACHE_SESSIONS: z.coerce.number().int().min(0).default(5000).describe('Session views kept in memory between batches.'),
});
export type ProjectorEnv = z.infer<typeof ProjectorEnv>;
