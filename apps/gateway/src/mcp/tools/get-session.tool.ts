import { SessionAccessDenied, mayReadSessionsOf } from '#domain';
import { NoSessionGiven } from '../mcp-connection.js';
import type { ToolHandler } from './tool.js';

/**
 * Reads through the query app, the caller's own grant's session unless `owner` names another that
 * the policy lets it read; a session this connection wrote to is read with at least its own writes.
 */
export const getSession: ToolHandler<'get_session'> = (args, connection, { queries, policies }) => {
  const { identity } = connection;
  const owner = args.owner ?? identity.grant;
  if (!mayReadSessionsOf(policies.current, identity, owner)) throw new SessionAccessDenied(identity.grant, owner);
  // The session this connection started is its own grant's: another owner's session is read only by its id.
  if (owner !== identity.grant && args.session_id === undefined) throw new NoSessionGiven('owner names another grant');
  const { sessionId } = connection.sessionFor(args.session_id);
  const ownWrites = owner === identity.grant ? connection.lastWriteTo(sessionId) : undefined;
  return queries.getSession({ session_id: sessionId, owner, min_seq: ownWrites });
};
