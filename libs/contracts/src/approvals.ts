import { z } from 'zod';
import { IsoTime } from './fields.js';
import { AgentName, GrantName } from './identity.js';

export const APPROVAL_ID_PATTERN = /^[a-z0-9]{12}$/;
export const ApprovalId = z.string().regex(APPROVAL_ID_PATTERN, { error: 'approval id must be 12 lowercase letters or digits' });

/** A call waits for a person: what it is, and until when. */
export const ApprovalRequested = z.object({
  type: z.literal('ApprovalRequested'),
  v: z.literal(1),
  id: ApprovalId,
  at: IsoTime,
  expires_at: IsoTime,
  agent: AgentName,
  grant: GrantName,
  via: z.string(),
  client: z.string().optional(),
  tool: z.string(),
  rule: z.string(),
  args: z.string().describe('The call\u2019s arguments as JSON, clipped to 4 KiB: what the approver decides on.'),
});
export type ApprovalRequested = z.infer<typeof ApprovalRequested>;

export const APPROVAL_OUTCOMES = ['approved', 'denied', 'expired', 'withdrawn'] as const;

/** The one decision on a request (JetStream's expected sequence keeps it to one). */
export const ApprovalDecided = z.object({
  type: z.literal('ApprovalDecided'),
  v: z.literal(1),
  id: ApprovalId,
  at: IsoTime,
  decision: z.enum(APPROVAL_OUTCOMES),
  by: z.string().describe('Who decided: a person, "timeout", or "caller" when the call was cancelled.'),
  reason: z.string().max(1000).optional(),
});
export type ApprovalDecided = z.infer<typeof ApprovalDecided>;

export const ApprovalEvent = z.discriminatedUnion('type', [ApprovalRequested, ApprovalDecided]);
export type ApprovalEvent = z.infer<typeof ApprovalEvent>;
