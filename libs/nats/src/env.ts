import { z } from 'zod';

/** Environment settings every app reads; each app extends this with its own. */
export const NatsEnv = z.object({
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222').describe('NATS server(s), comma-separated.'),
  NATS_REPLICAS: z
    .union([z.literal('auto'), z.coerce.number().int().min(1).max(5)])
    .default('auto')
    .describe('Replicas of the streams and buckets: `auto` is 1 on a single server, up to 3 on a cluster; a number forces it.'),
  // Who the program is to NATS (see natsAuth): one of a user, an nkey or a creds file; none: anonymous.
  NATS_USER: z.string().min(1).optional().describe('NATS user (with NATS_PASSWORD or NATS_PASSWORD_FILE).'),
  NATS_PASSWORD: z.string().min(1).optional().describe("The NATS user's password."),
  NATS_PASSWORD_FILE: z.string().min(1).optional().describe("File holding the NATS user's password."),
  NATS_NKEY_SEED_FILE: z.string().min(1).optional().describe('File holding the nkey seed to authenticate with.'),
  NATS_CREDS_FILE: z.string().min(1).optional().describe('NATS creds file (user JWT and seed) to authenticate with.'),
});
export type NatsEnv = z.infer<typeof NatsEnv>;

/** NATS settings of the programs that may create the audit stream (gateway, query app, CLI). */
export const AuditStreamEnv = NatsEnv.extend({
  AUDIT_MAX_AGE_DAYS: z.coerce.number().positive().default(30).describe('How long the audit stream keeps records (set when an app creates it).'),
});
export type AuditStreamEnv = z.infer<typeof AuditStreamEnv>;
