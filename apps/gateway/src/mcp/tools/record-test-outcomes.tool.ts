import type { ToolHandler } from './tool.js';

export const recordTestOutcomes: ToolHandler<'record_test_outcomes'> = async (args, connection, { writer, now }) => {
  const { owner, sessionId } = connection.sessionFor(args.session_id);
  const { seq, duplicate, duplicates = 0 } = await writer.execute({
    type: 'RecordOutcomes',
    owner,
    sessionId,
    actor: connection.actor,
    at: now().toISOString(),
    outcomes: args.outcomes,
  });
  connection.wrote(sessionId, seq);
  return { session_id: sessionId, seq, duplicate, recorded: args.outcomes.length - duplicates, duplicates };
};
