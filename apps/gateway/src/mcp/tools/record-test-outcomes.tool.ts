import { writeToOwnSession, type ToolHandler } from './tool.js';

export const recordTestOutcomes: ToolHandler<'record_test_outcomes'> = async ({ session_id, outcomes }, connection, deps) => {
  const { sessionId, seq, duplicate, duplicates = 0 } = await writeToOwnSession(connection, deps, session_id, { type: 'RecordOutcomes', outcomes });
  return { session_id: sessionId, seq, duplicate, recorded: outcomes.length - duplicates, duplicates };
};
