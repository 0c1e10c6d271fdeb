import { ownerToRead, sessionToRead } from './read-scope.js';
import type { ToolHandler } from './tool.js';

/** The reads across sessions: each asks the query app for the owner(s) the caller may read. */

export const listSessions: ToolHandler<'list_sessions'> = (args, connection, { queries, policies }) =>
  queries.listSessions({ ...args, owner: ownerToRead(connection, policies.current, args.owner) });

export const getSessionTests: ToolHandler<'get_session_tests'> = (args, connection, { queries, policies }) =>
  queries.getSessionTests({ ...args, ...sessionToRead(connection, policies.current, args) });

export const getTestHistory: ToolHandler<'get_test_history'> = (args, connection, { queries, policies }) =>
  queries.getTestHistory({ ...args, owner: ownerToRead(connection, policies.current, args.owner) });

export const getFlakyTests: ToolHandler<'get_flaky_tests'> = (args, connection, { queries, policies }) =>
  queries.getFlakyTests({ ...args, owner: ownerToRead(connection, policies.current, args.owner) });

export const getFailureGroups: ToolHandler<'get_failure_groups'> = (args, connection, { queries, policies }) =>
  queries.getFailureGroups(
    args.session_id === undefined
      ? { ...args, owner: ownerToRead(connection, policies.current, args.owner) }
      : { ...args, ...sessionToRead(connection, policies.current, args) },
  );
