import { z } from 'zod';

/**
 * Every code a refusal or failure carries, in one place: tool results (`_meta`), NATS replies
 * (`{ code, message }`) and audit records use these and nothing else. Codes are data; the
 * message beside each is for people, and nothing parses a code out of it.
 */
export const REFUSALS = {
  INVALID_ARGUMENTS: 'The arguments break the tool\u2019s schema; the message names the field and the rule. Nothing was written.',
  NO_SESSION: 'No session_id was given and none was started on this MCP connection.',
  SESSION_NOT_FOUND: 'Your grant has no session with this id (sessions are scoped to the grant that started them).',
  SESSION_ACCESS_DENIED: 'The session belongs to another grant, and the policy does not let yours read it.',
  SESSION_ID_CONFLICT: 'The session exists and was started with other content.',
  SESSION_FINISHED: 'The session is finished: no other outcome can be recorded.',
  SESSION_ALREADY_FINISHED: 'The session is already finished with another summary.',
  OUTCOME_CONFLICT: 'This test phase and attempt is recorded with other details; send the next attempt.',
  SESSION_UNREADABLE: 'The session\u2019s log holds an event this version cannot read; nothing was written.',
  SESSION_STUCK: 'The projector could not fold an event of this session; the message says which and why.',
  POLICY_DENIED: 'The policy refused the call (rule and reason in the message).',
  POLICY_UNAVAILABLE: 'The policy\u2019s limits or approvals could not be checked (NATS unreachable); retry.',
  WRITE_UNAVAILABLE: 'NATS did not acknowledge the write: it may or may not be stored; retry the same call.',
  WRITE_CONTENDED: 'The session kept changing under concurrent writers; nothing was written; retry.',
  QUERY_UNAVAILABLE: 'The query app did not answer in time; retry.',
  READ_MODEL_BEHIND: 'The read model does not hold your last write yet (projector behind or down); retry shortly.',
  BAD_REQUEST: 'A NATS request to the query app broke its schema.',
  INTERNAL: 'An unexpected failure; the gateway\u2019s log has the details.',
  TOOL_ERROR: 'The MCP server refused the call before a tool ran (e.g. an unknown tool); audit records only.',
  PROTOCOL_ERROR: 'The call was answered with a JSON-RPC error; audit records only.',
} as const;

export type RefusalCode = keyof typeof REFUSALS;
export const REFUSAL_CODES = Object.keys(REFUSALS) as [RefusalCode, ...RefusalCode[]];
export const RefusalCode = z.enum(REFUSAL_CODES);

/** What a refused tool call carries as data, under {@link REFUSAL_META_KEY} in the result's `_meta`. */
export const Refusal = z.object({ code: RefusalCode, message: z.string() });
export type Refusal = z.infer<typeof Refusal>;

/** The `_meta` key of a refused tool call's {@link Refusal}. */
export const REFUSAL_META_KEY = 'mcp-pytest/refusal';

/** The text people read: the code first, then why. */
export const refusalText = ({ code, message }: Refusal): string => `[${code}] ${message}`;
