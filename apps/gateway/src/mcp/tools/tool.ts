import type { z } from 'zod';
import type { TOOLS, ToolName } from '#contracts';
import type { PolicySource } from '#auth';
import type { SessionChanges } from '../../read/session-changes.js';
import type { SessionQueries } from '../../read/session-queries.js';
import type { SessionCommand } from '#domain';
import type { SessionWriter, WriteResult } from '../../write/session-writer.js';
import type { McpConnection } from '../mcp-connection.js';

/** What tools, resources and prompts use: the write side, the reads and change notices, the policy (who may read what), and a clock (injected, so tests can pin time). */
export interface ToolDeps {
  writer: SessionWriter;
  queries: SessionQueries;
  changes: SessionChanges;
  policies: Pick<PolicySource, 'current'>;
  now: () => Date;
}

export type ToolInput<N extends ToolName> = z.output<(typeof TOOLS)[N]['input']>;
export type ToolOutput<N extends ToolName> = z.input<(typeof TOOLS)[N]['output']>;

/** A tool's behaviour: validated arguments in, structured content out; domain errors are thrown. */
export type ToolHandler<N extends ToolName> = (args: ToolInput<N>, connection: McpConnection, deps: ToolDeps) => Promise<ToolOutput<N>>;

/** A command without what every write stamps on it: whose session, who calls, and when. */
type CommandBody<C = SessionCommand> = C extends SessionCommand ? Omit<C, 'owner' | 'sessionId' | 'actor' | 'at'> : never;

/**
 * Writes to a session of the caller's own grant (the one named, or the one last started on this connection),
 * stamped with the caller and the time, and remembers the write so that the connection reads its own writes.
 */
export async function writeToOwnSession(
  connection: McpConnection,
  { writer, now }: ToolDeps,
  given: string | undefined,
  body: CommandBody,
): Promise<WriteResult & { sessionId: string }> {
  const { owner, sessionId } = connection.sessionFor(given);
  const result = await writer.execute({ ...body, owner, sessionId, actor: connection.actor, at: now().toISOString() });
  connection.wrote(sessionId, result.seq);
  return { ...result, sessionId };
}
