import { z } from 'zod';
import { NatsEnv } from '#nats';

export const QueryEnv = NatsEnv.extend({
  READ_WAIT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(60_000)
    .default(2000)
    .describe('How long a read with min_seq waits for the projector to catch up.'),
});
export type QueryEnv = z.infer<typeof QueryEnv>;
