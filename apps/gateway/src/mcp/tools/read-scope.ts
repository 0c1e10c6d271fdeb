import type { PolicyFile } from '#contracts';
import { mayReadSessionsOf, readOwner, SessionAccessDenied } from '#domain';
import { NoSessionGiven, type McpConnection } from '../mcp-connection.js';

/**
 * The one session a read names: the caller's own grant's unless `owner` names another that the
 * policy lets it read; a session this connection wrote to is read with at least its own writes (`min_seq`).
 */
export function sessionToRead(
  connection: McpConnection,
  policy: PolicyFile,
  given: { session_id?: string; owner?: string },
): { session_id: string; owner: string; min_seq?: number } {
  const { identity } = connection;
  const owner = given.owner ?? identity.grant;
  if (!mayReadSessionsOf(policy, identity, owner)) throw new SessionAccessDenied(identity.grant, owner);
  // The session this connection started is its own grant's: another owner's session is read only by its id.
  if (owner !== identity.grant && given.session_id === undefined) throw new NoSessionGiven('owner names another grant');
  const { sessionId } = connection.sessionFor(given.session_id);
  const ownWrites = owner === identity.grant ? connection.lastWriteTo(sessionId) : undefined;
  return { session_id: sessionId, owner, ...(ownWrites === undefined ? {} : { min_seq: ownWrites }) };
}

/** Whose sessions a read across sessions covers (null: every grant's), by the one ownership rule. */
export const ownerToRead = (connection: McpConnection, policy: PolicyFile, requested: string | undefined): string | null =>
  readOwner(policy, connection.identity, requested);
