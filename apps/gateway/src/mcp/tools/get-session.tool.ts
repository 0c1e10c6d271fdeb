import type { ToolHandler } from './tool.js';

/** Reads through the query app; a session this connection wrote to is read with at least its own writes. */
export const getSession: ToolHandler<'get_session'> = (args, connection, { queries }) => {
  const sessionId = connection.sessionFor(args.session_id);
  return queries.getSession({ session_id: sessionId, min_seq: connection.lastWriteTo(sessionId) });
};
