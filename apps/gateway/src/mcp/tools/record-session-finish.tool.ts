import type { ToolHandler } from './tool.js';

export const recordSessionFinish: ToolHandler<'record_session_finish'> = async (args, connection, { writer, now }) => {
  const { owner, sessionId } = connection.sessionFor(args.session_id);
  const { seq, duplicate } = await writer.execute({
    type: 'FinishSession',
    owner,
    sessionId,
    actor: connection.actor,
    at: now().toISOString(),
    summary: args.summary,
  });
  connection.wrote(sessionId, seq);
  return { session_id: sessionId, seq, duplicate, status: 'finished' };
};
