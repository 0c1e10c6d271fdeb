import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { boundedReason, Refusal, REFUSAL_META_KEY, refusalText, type RefusalCode } from '#contracts';

/** A refusal that is not a session rule's (those are DomainErrors): unavailability, missing context, reads. */
export class Refused extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A refused call's result: the code as data in `_meta` (clients key on it), code and message as text for people.
 * Messages may quote caller data (node ids of up to 4,096 characters): they are bounded here, once for every refusal.
 */
export function refusalResult({ code, message }: Refusal): CallToolResult {
  const refusal = { code, message: boundedReason(message) };
  return { content: [{ type: 'text', text: refusalText(refusal) }], isError: true, _meta: { [REFUSAL_META_KEY]: refusal } };
}

/** The refusal a tool result carries, if it carries one. */
export function refusalOf(result: CallToolResult | undefined): Refusal | undefined {
  const parsed = Refusal.safeParse(result?._meta?.[REFUSAL_META_KEY]);
  return parsed.success ? parsed.data : undefined;
}
