import { z } from 'zod';
import { IsoTime, SessionId } from './fields.js';
import { AgentName, GrantName } from './identity.js';

export const AUDIT_DECISIONS = ['allowed', 'denied'] as const;
export const AuditDecision = z.enum(AUDIT_DECISIONS);
export type AuditDecision = z.infer<typeof AuditDecision>;

/**
 * What a record keeps of the names a caller chooses, at most: the gateway cuts longer ones (the tool and
 * argument names in its policy gate, the client's name/version when the MCP session starts), so a record
 * stays small whatever is sent, and a reader refuses one that is longer.
 */
export const AUDIT_BOUNDS = { nameChars: 128, argKeys: 64, clientChars: 200 } as const;
const CallerName = z.string().max(AUDIT_BOUNDS.nameChars);

/** One tool call as the gateway decided it. Argument values are never kept. */
export const AuditRecord = z.object({
  id: z.string(),
  at: IsoTime.describe('When the call arrived.'),
  agent: AgentName,
  grant: GrantName,
  via: z.string().describe('"http" or "stdio".'),
  client: z.string().max(AUDIT_BOUNDS.clientChars).optional().describe('MCP client name/version, as the client gave it (cut).'),
  tool: CallerName.describe('The tool name as the caller gave it (cut): a tool the server does not have is denied by rule "unknown_tool".'),
  arg_keys: z.array(CallerName).max(AUDIT_BOUNDS.argKeys).describe('Names of the top-level arguments given (not their values), cut.'),
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
