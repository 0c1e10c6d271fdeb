import { z } from 'zod';

export const ReadModelEnv = z.object({
  READ_MODEL_URL: z
    .string()
    .min(1)
    .default('sqlite:./.data/read-models.sqlite')
    .describe(
      'Where the cross-session read models live: `sqlite:PATH` (embedded, the default; one host) or `postgres://user@host:5432/db` (shared by several hosts).',
    ),
});
export type ReadModelEnv = z.infer<typeof ReadModelEnv>;
