import { randomUUID } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AUDIT_BOUNDS, type Actor, type AuditRecord, type Identity } from '#contracts';
import { refusalOf } from '../mcp/refusal-result.js';

/** An audit record from a call's arrival: who called what, with which argument names; the ending and latency come later. */
export type OpenRecord = Omit<AuditRecord, 'latency_ms'>;

/** How a call ended, as its audit record tells it. */
export type Ending = Partial<AuditRecord>;

/** The record of a tools/call as it arrives: allowed until decided otherwise; names the caller chose are cut to AUDIT_BOUNDS. */
export function openRecord(caller: { identity: Identity; actor: Actor }, tool: string, args: unknown, at: Date): OpenRecord {
  const { identity, actor } = caller;
  return {
    id: randomUUID(),
    at: at.toISOString(),
    agent: identity.agent,
    grant: identity.grant,
    via: actor.via,
    ...(actor.client && { client: actor.client }),
    tool: tool.slice(0, AUDIT_BOUNDS.nameChars),
    arg_keys: argKeys(args),
    decision: 'allowed',
  };
}

/** How an admitted call ended, from the server's answer: ok, or an error with its code; a write's stream sequence and session. */
export function answerEnding(answer: { result: unknown } | { error: unknown }): Ending {
  const result = 'result' in answer ? (answer.result as CallToolResult) : undefined;
  const failed = !result || result.isError === true;
  const structured = result?.structuredContent as { seq?: unknown; session_id?: unknown } | undefined;
  return {
    outcome: failed ? 'error' : 'ok',
    ...(failed && { error_code: refusalOf(result)?.code ?? (result ? 'TOOL_ERROR' : 'PROTOCOL_ERROR') }),
    ...(typeof structured?.seq === 'number' && { seq: structured.seq }),
    ...(typeof structured?.session_id === 'string' && { session_id: structured.session_id }),
  };
}

/** The finished record: its ending, and the milliseconds since the call arrived (to the microsecond). */
export function closedRecord(open: OpenRecord, ending: Ending, elapsedMs: number): AuditRecord {
  return { ...open, ...ending, latency_ms: Math.round(elapsedMs * 1000) / 1000 };
}

function argKeys(args: unknown): string[] {
  if (!args || typeof args !== 'object' || Array.isArray(args)) return [];
  return Object.keys(args)
    .slice(0, AUDIT_BOUNDS.argKeys)
    .map((key) => key.slice(0, AUDIT_BOUNDS.nameChars));
}
