import { z } from 'zod';

/** Agent and grant names: one NATS subject token and KV key part each, readable in audit rows. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const Name = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .regex(NAME_PATTERN, { error: `${what} must be 1–64 letters, digits, "_" or "-", starting with a letter or digit` });

export const AgentName = Name('agent').describe('Name of one calling agent, e.g. "ci-runner-1".');
export const GrantName = Name('grant').describe('Group of agents that shares a policy and its limits, e.g. "ci".');

/** Who calls the gateway: an agent, and the grant whose policy applies to it. */
export const Identity = z.object({ agent: AgentName, grant: GrantName });
export type Identity = z.infer<typeof Identity>;

export const KeyEntry = z.strictObject({
  agent: AgentName,
  grant: GrantName,
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, { error: 'must be the hex SHA-256 of the key (64 lowercase hex digits)' })
    .describe('Hex SHA-256 of the bearer key; the key itself is never stored.'),
  created_at: z.iso.datetime({ error: 'must be an ISO-8601 UTC time' }).optional(),
});
export type KeyEntry = z.infer<typeof KeyEntry>;

/** The keys file (KEYS_FILE): who may call over HTTP. Written by `mcp-pytest keys add|revoke`. */
export const KeysFile = z.strictObject({ $schema: z.string().optional(), keys: z.array(KeyEntry) }).superRefine(({ keys }, ctx) => {
  const seen = new Set<string>();
  keys.forEach(({ agent }, index) => {
    if (seen.has(agent)) ctx.addIssue({ code: 'custom', path: ['keys', index, 'agent'], message: `agent "${agent}" has more than one key` });
    seen.add(agent);
  });
});
export type KeysFile = z.infer<typeof KeysFile>;
