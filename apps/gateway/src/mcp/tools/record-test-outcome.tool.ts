import type { ToolHandler } from './tool.js';

export const recordTestOutcome: ToolHandler<'record_test_outcome'> = async (args, connection, { writer, now }) => {
  const { session_id: given, ...outcome } = args;
  const { owner, sessionId } = connection.sessionFor(given);
  const { seq, duplicate } = await writer.execute({
    type: 'RecordOutcome',
    owner,
    sessionId,
    actor: connection.actor,
    at: now().toISOString(),
    outcome,
  });
  connection.wrote(sessionId, seq);
  return { session_id: sessionId, nodeid: outcome.nodeid, seq, duplicate };
};
