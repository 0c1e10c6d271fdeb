import { writeToOwnSession, type ToolHandler } from './tool.js';

export const recordTestOutcome: ToolHandler<'record_test_outcome'> = async ({ session_id, ...outcome }, connection, deps) => {
  const { sessionId, seq, duplicate } = await writeToOwnSession(connection, deps, session_id, { type: 'RecordOutcome', outcome });
  return { session_id: sessionId, nodeid: outcome.nodeid, seq, duplicate };
};
