import { z } from 'zod';
import { NatsEnv } from '#nats';
import { ReadModelEnv } from '#read-models';

export const ProjectorEnv = NatsEnv.extend(ReadModelEnv.shape).extend({
  PROJECTOR_BATCH: z.coerce.number().int().min(1).max(10_000).default(2000).describe('Events pulled per request, and held unacked at most, per partition.'),
  VIEW_CACHE_SESSIONS: z.coerce.number().int().min(0).default(5000).describe('Session views kept in memory between batches.'),
});
export type ProjectorEnv = z.infer<typeof ProjectorEnv>;
