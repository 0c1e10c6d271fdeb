import { z } from 'zod';

/**
 * Every code a refusal or failure carries, in one place: tool results (`_meta`), NATS replies
 * (`{ code, message }`) and audit records use these and nothing else. Codes are data; a refusal's
 * message is for people, and nothing parses a code out of it. Beside each code: when it is given,
 * as the errors table of docs/tools.md says it (a spec keeps the two the same).
 */
export const REFUSALS = {
  INVALID_ARGUMENTS:
    "the arguments break the tool's schema; the message names each field and rule, e.g. `record_test_outcome: duration: must be a non-negative number of seconds`",
  NO_SESSION: 'no `session_id` and no session started on this connection',
  SESSION_NOT_FOUND: "your grant has no session with this id (never started, or another grant's)",
  SESSION_ACCESS_DENIED:
    'a read (`get_session`, `list_sessions`, …, the HTTP API) with `owner` naming another grant, without `sessions.read: "all"` (said whether or not the session exists)',
  SESSION_ID_CONFLICT: 'a start reusing a `session_id` with different content',
  SESSION_FINISHED: 'an outcome after the finish',
  SESSION_ALREADY_FINISHED: 'a second finish with a different summary',
  OUTCOME_CONFLICT: 'the same nodeid/phase/attempt again with different content (pass `attempt` for a rerun)',
  SESSION_READ_ONLY:
    'a write to a session of the `local` grant recorded before sessions had owners (or a start reusing its id): such sessions are kept and read, not written',
  SESSION_UNREADABLE: "the session's log holds a message this version cannot read (put there by other means); nothing was written",
  SESSION_STUCK: '`get_session` of a session whose first event the projector could not fold',
  POLICY_DENIED: 'the policy refused the call: see [What callers see](policy.md#what-callers-see)',
  POLICY_UNAVAILABLE: "the policy's limits or approvals could not be checked (NATS unreachable); retry",
  WRITE_UNAVAILABLE:
    'NATS did not acknowledge the write (down, or timed out) — never bad input; retrying the same call is safe (for a start: when it names its `session_id`)',
  PARTLY_STORED:
    'a `record_test_outcomes` call spread over several events (over 512 KiB) had its first events stored when another writer changed the session and the rest was refused; the message says how many were stored and why; resending the same call stores nothing twice',
  WRITE_CONTENDED: 'the session kept changing under concurrent writers for 16 rounds (with random pauses); nothing was written; retry',
  READ_MODEL_BEHIND:
    '`get_session` (or `get_session_tests`, `get_failure_groups` of a session) of a session this connection wrote to, whose view does not hold that write within `READ_WAIT_MS`',
  QUERY_UNAVAILABLE: 'the query app did not answer in `QUERY_TIMEOUT_MS`',
  BAD_REQUEST: 'a NATS request to the query app broke its schema (NATS callers only)',
  UNAUTHENTICATED: 'an HTTP API request (query app) without a bearer key, or with one that is not in `KEYS_FILE` (401)',
  HOST_NOT_ALLOWED: 'an HTTP API request to a query app without `KEYS_FILE` whose `Host` is not a loopback name at its port (DNS rebinding; 403)',
  NO_SUCH_ENDPOINT: 'an HTTP API path that does not exist (404), or a method other than GET on one (405)',
  TOO_MANY_STREAMS: '`/api/events` while `QUERY_SSE_MAX_CLIENTS` event streams are open (503); retry later',
  INTERNAL: 'a bug: the gateway logs the stack; nothing was written for a call refused so',
  TOOL_ERROR: 'in audit records only: the MCP server refused a call before any tool ran',
  PROTOCOL_ERROR: 'in audit records only: the call was answered with a JSON-RPC error',
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
