import { ARGUMENT_BOUNDS, SpoolCall, SpoolHeader } from '#contracts';
import type { Line } from './file-lines.js';
import { checkBounds, checkedRecord, FileProblem, jsonLine } from './imported-run.js';

/** A spool read whole and checked: the header, then each call with the line it came from. */
export interface Spool {
  header: SpoolHeader;
  calls: Array<{ call: SpoolCall; line: number }>;
}

/**
 * The pytest plugin's spool, every line checked before anything is sent: the header first, then calls each
 * valid by its tool's input contract and naming the header's session; a start as the first call and only there,
 * a finish only as the last. A line that breaks a rule is a FileProblem naming it. Blank lines are skipped.
 */
export function parseSpool(lines: Iterable<Line>, source: string): Spool {
  let header: SpoolHeader | undefined;
  const calls: Spool['calls'] = [];
  for (const { text, number } of lines) {
    if (!text.trim()) continue;
    const record = jsonLine(text, source, number);
    if (!header) {
      header = checkedRecord(SpoolHeader, record, source, { line: number, what: 'the header' });
      continue;
    }
    // Held to the bounds the gateway holds every call's arguments to, before the tool's schema walks them.
    if (isObject(record)) checkBounds(record.arguments, ARGUMENT_BOUNDS, source, { line: number }, ['arguments']);
    const call = checkedRecord(SpoolCall, record, source, { line: number });
    const problem = callProblem(call, header, calls);
    if (problem) throw new FileProblem(source, { line: number, what: call.tool }, problem);
    calls.push({ call, line: number });
  }
  if (!header) throw new FileProblem(source, { line: 1 }, 'empty: a spool begins with its header {"mcp_pytest_spool": 1, "url": …, "session_id": …}');
  if (calls.length === 0) throw new FileProblem(source, { line: 1 }, 'the spool holds no tool calls after its header: nothing to upload');
  return { header, calls };
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object';

/** What makes a valid call wrong at its place in the spool, if anything. */
function callProblem({ tool, arguments: args }: SpoolCall, header: SpoolHeader, before: Spool['calls']): string | undefined {
  if (args.session_id !== header.session_id) return `arguments.session_id: must be the spool's session "${header.session_id}"`;
  if (before.at(-1)?.call.tool === 'record_session_finish')
    return `a call after record_session_finish (line ${before.at(-1)!.line}): nothing can follow the finish`;
  // The plugin spools a whole session, its start first. Without the start's checks (the session is new, or the
  // same start again), a crafted spool could append outcomes to any running session of the uploader's grant.
  if (before.length === 0 && tool !== 'record_session_start')
    return 'the first call must be record_session_start: a spool holds a whole session, from its start';
  if (tool === 'record_session_start' && before.length > 0) return 'record_session_start can only be the first call';
  return undefined;
}
