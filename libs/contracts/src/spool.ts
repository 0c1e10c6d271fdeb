import { z } from 'zod';
import { SessionId } from './fields.js';
import { RecordSessionFinishInput, RecordSessionStartInput, RecordTestOutcomesInput } from './tools.js';

/**
 * The spool file the pytest plugin writes (and `mcp-pytest upload` sends): JSON Lines, this header first,
 * then one line per tool call in the order the calls are to be made.
 */
export const SpoolHeader = z.object({
  mcp_pytest_spool: z.literal(1, { error: 'must be 1 (the spool format this version reads)' }),
  url: z.string().describe('The MCP URL the plugin was given: where `upload` sends the calls unless told otherwise.'),
  session_id: SessionId.describe('The session every call of the spool writes to.'),
});
export type SpoolHeader = z.infer<typeof SpoolHeader>;

/** One line after the header: a write tool's name and its arguments, exactly as the tool takes them. */
export const SpoolCall = z.discriminatedUnion('tool', [
  z.strictObject({ tool: z.literal('record_session_start'), arguments: RecordSessionStartInput }),
  z.strictObject({ tool: z.literal('record_test_outcomes'), arguments: RecordTestOutcomesInput }),
  z.strictObject({ tool: z.literal('record_session_finish'), arguments: RecordSessionFinishInput }),
]);
export type SpoolCall = z.infer<typeof SpoolCall>;
