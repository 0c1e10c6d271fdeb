import { z } from 'zod';
import { IsoTime, SessionId } from './fields.js';
import { AgentName, GrantName } from './identity.js';

export const AUDIT_DECISIONS = ['allowed', 'denied'] as const;
export const AuditDecision = z.enum(AUDIT_DECISIONS);
export type AuditDecision = z.infer<typeof AuditDecision>;

/** One tool call as the gateway decided it. Argument values are never kept. */
export const AuditRecord = z.object({
  id: z.string(),
  at: IsoTime.describe('When the call arrived.'),
  agent: AgentName,
  grant: GrantName,
  via: z.string().describe('"http" or "stdio".'),
  client: z.string().optional().describe('MCP client name/version.'),
  tool: z.string(),
  arg_keys: z.array(z.string()).describe('Names of the arguments given (not their values).'),
  decision: AuditDecision,
  rule: z.string().optional().describe('Policy rule that decided, e.g. "tools.record_test_outcome.deny_if[0]".'),
  reason: z.string().optional(),
  outcome: z.enum(['ok', 'error', 'cancelled']).optional().describe('How an allowed call ended.'),
  error_code: z.string().optional().describe('Code of the error an allowed call ended with, e.g. SESSION_NOT_FOUND.'),
  latency_ms: z.number().nonnegative(),
  seq: z.int().positive().optional().describe('Stream sequence of the event a write produced.'),
  session_id: SessionId.optional(),
  approval_id: z.string().optional(),
});
export type AuditRecord = z.infer<typeof AuditRecord>;

/**
 * One message on `pytest.audit.<decision>.<agent>`: the records of that agent's calls decided so
 * within a few milliseconds of each other, in the order they ended (one append for many calls).
 */
export const AuditMessage = z.array(AuditRecord).min(1);
export type AuditMessage = z.infer<typeof AuditMessage>;

/** Request of the `query-audit` message pattern: the newest records that match, oldest first. */
export const AuditQuery = z.strictObject({
  agent: AgentName.optional(),
  grant: GrantName.optional(),
  tool: z.string().optional(),
  decision: AuditDecision.optional(),
  since: IsoTime.optional().describe('Default: one hour ago.'),
  until: IsoTime.optional(),
  limit: z.int().min(1).max(1000).default(100),
});
export type AuditQuery = z.input<typeof AuditQuery>;

export const AuditQueryResult = z.object({
  records: z.array(AuditRecord),
  matched: z.int().nonnegative().describe('Records that matched in the time range; the newest `limit` are returned.'),
});
export type AuditQueryResult = z.infer<typeof AuditQueryResult>;
