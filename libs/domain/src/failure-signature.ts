import { READ_BOUNDS, type FailureGroup } from '#contracts';
import { clipUtf8 } from './text.js';

/**
 * What varies between two failures of one cause, masked in their signature. Order matters: ids and
 * addresses before paths, paths before bare numbers.
 */
const MASKS: [RegExp, string][] = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<ID>'],
  [/\b0x[0-9a-f]+\b/gi, '<HEX>'],
  [/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<HEX>'],
  [/(?:[A-Za-z]:\\|\.{0,2}\/)?(?:[\w.-]+[\\/])+[\w.-]+/g, '<PATH>'],
  [/[-+]?\b\d+(?:\.\d+)?(?:e[-+]?\d+)?\b/gi, '<N>'],
];

/** The exception line pytest prints last in a long report: `path:line: ExceptionType`. */
const CRASH_LINE = /^(\S.*?):\d+: ([A-Za-z_][\w.]*)$/;
/** A frame header of a long report: `path:line: in function`. */
const FRAME_LINE = /^(\S.*?):\d+: in (\S+)$/;
/** An `E   ` line: pytest's explanation of the failure. */
const EXPLANATION = /^E\s+(.*)$/;
/** `ExceptionType: message`, or a bare exception type. */
const EXCEPTION = /^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Failure|Failed|Warning|Timeout))(?::\s*(.*))?$/;

/**
 * The signature of a failure: its exception type and message with numbers, paths, addresses, hex
 * and ids masked, and its innermost frame (file and function, without line numbers) — equal for
 * failures of one cause, whatever values and lines they ran into.
 */
export function failureSignature(error: string | undefined, longrepr: string | undefined): string {
  const lines = (longrepr ?? '').split('\n').map((line) => line.trimEnd());
  const explanation = lines.map((line) => EXPLANATION.exec(line)?.[1]?.trim()).find((text) => text);
  const crash = lines.map((line) => CRASH_LINE.exec(line)).findLast((match) => match !== null);
  const frame = lines.map((line) => FRAME_LINE.exec(line)).findLast((match) => match !== null);
  const headline = firstLine(error) ?? explanation ?? firstLine(longrepr) ?? 'failed without an error message';
  const parsed = EXCEPTION.exec(headline) ?? namedBy(crash?.[2], headline);
  const type = parsed?.[1] ?? crash?.[2];
  const message = parsed ? (parsed[2] ?? '') : headline;
  const exception = type ? (message ? `${type}: ${mask(message)}` : type) : mask(message);
  const file = crash?.[1] ?? frame?.[1];
  const where = file ? ` at ${file}${frame && frame[1] === file ? ` in ${frame[2]}` : ''}` : '';
  return (exception + where).slice(0, READ_BOUNDS.signatureChars);
}

/** `Type: message` for an exception type the crash line names (any name, not only …Error). */
function namedBy(type: string | undefined, headline: string): [string, string, string] | null {
  if (type === undefined || (headline !== type && !headline.startsWith(`${type}:`))) return null;
  return [headline, type, headline.slice(type.length + 1).trim()];
}

function mask(text: string): string {
  let masked = text;
  for (const [pattern, replacement] of MASKS) masked = masked.replace(pattern, replacement);
  return masked.replace(/\s+/g, ' ').trim();
}

function firstLine(text: string | undefined): string | undefined {
  return text
    ?.split('\n')
    .map((line) => line.trim())
    .find((line) => line.length > 0);
}

/** One failed or errored result, as failure groups count it. */
export interface SignedFailure {
  signature: string;
  nodeid: string;
  at: string;
  error: string | null;
}

const EXAMPLE_ERROR_BYTES = 4096;

/** Failures grouped by signature, largest group first, with a few example node ids and one error each. */
export function groupFailures(failures: Iterable<SignedFailure>): FailureGroup[] {
  const groups = new Map<string, FailureGroup>();
  for (const { signature, nodeid, at, error } of failures) {
    const group = groups.get(signature);
    if (!group) {
      groups.set(signature, {
        signature,
        count: 1,
        nodeids: [nodeid],
        example_error: error === null ? null : clipUtf8(error, EXAMPLE_ERROR_BYTES),
        first_seen: at,
        last_seen: at,
      });
      continue;
    }
    group.count++;
    if (group.nodeids.length < READ_BOUNDS.groupExamples && !group.nodeids.includes(nodeid)) group.nodeids.push(nodeid);
    if (at < group.first_seen) group.first_seen = at;
    if (at > group.last_seen) group.last_seen = at;
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.signature.localeCompare(b.signature)).slice(0, READ_BOUNDS.listed);
}
