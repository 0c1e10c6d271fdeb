import { z } from 'zod';
import { READ_MODEL_GROUP_PATTERN } from '#contracts';

export const ReadModelEnv = z.object({
  READ_MODEL_URL: z
    .string()
    .min(1)
    .default('sqlite:./.data/read-models.sqlite')
    .describe(
      'Where the cross-session read models live: `sqlite:PATH` (embedded, the default; one host) or `postgres://user@host:5432/db` (shared by several hosts).',
    ),
  READ_MODEL_GROUP: z
    .string()
    .regex(READ_MODEL_GROUP_PATTERN, 'letters, digits and - (at most 32)')
    .optional()
    .describe(
      "Unset: the read models every host shares. A name (e.g. the host's): a set of its own, folded from the whole stream — for each host keeping SQLite; its projectors and query apps name the same.",
    ),
});
export type ReadModelEnv = z.infer<typeof ReadModelEnv>;
