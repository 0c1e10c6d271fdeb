import { sessionToRead } from './read-scope.js';
import type { ToolHandler } from './tool.js';

/** Reads one session's view through the query app. */
export const getSession: ToolHandler<'get_session'> = (args, connection, { queries, policies }) =>
  queries.getSession(sessionToRead(connection, policies.current, args));
