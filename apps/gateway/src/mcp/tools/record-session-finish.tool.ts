import { writeToOwnSession, type ToolHandler } from './tool.js';

export const recordSessionFinish: ToolHandler<'record_session_finish'> = async ({ session_id, summary }, connection, deps) => {
  const { sessionId, seq, duplicate } = await writeToOwnSession(connection, deps, session_id, { type: 'FinishSession', summary });
  return { session_id: sessionId, seq, duplicate, status: 'finished' };
};
