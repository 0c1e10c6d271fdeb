import { z } from 'zod';
import { OperatorHttpEnv } from '#auth';
import { NatsEnv } from '#nats';
import { ReadModelEnv } from '#read-models';

export const ProjectorEnv = NatsEnv.extend(ReadModelEnv.shape)
  .extend(OperatorHttpEnv.shape)
  .extend({
    PROJECTOR_BATCH: z.coerce
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(2000)
      .describe('Events held unacked at most, over all partitions (each partition consumer pulls its share).'),
    VIEW_CACHE_SESSIONS: z.coerce.number().int().min(0).default(5000).describe('Session views kept in memory between batches.'),
    PROJECTOR_METRICS_HOST: z.string().min(1).default('127.0.0.1').describe("Address the projector's GET /metrics binds."),
    PROJECTOR_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464).describe("Port of the projector's GET /metrics (0: any free port)."),
  });
export type ProjectorEnv = z.infer<typeof ProjectorEnv>;
