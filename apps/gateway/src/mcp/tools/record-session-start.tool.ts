import { randomUUID } from 'node:crypto';
import type { ToolHandler } from './tool.js';

export const recordSessionStart: ToolHandler<'record_session_start'> = async (args, connection, { writer, now }) => {
  const { session_id: given, environment, project, labels, ci } = args;
  const sessionId = given ?? randomUUID();
  const { seq, duplicate } = await writer.execute({
    type: 'StartSession',
    // A grant starts sessions in its own scope only: another grant's "run-42" is another session.
    owner: connection.identity.grant,
    sessionId,
    actor: connection.actor,
    at: now().toISOString(),
    data: { environment, project, labels, ci },
  });
  connection.started(sessionId);
  connection.wrote(sessionId, seq);
  return { session_id: sessionId, seq, duplicate };
};
