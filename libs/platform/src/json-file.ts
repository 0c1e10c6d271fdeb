import { readFileSync } from 'node:fs';
import type { z } from 'zod';

/** A JSON file that cannot be used, with a message naming the file and the line or field at fault. */
export class JsonFileError extends Error {}

/** Reads and validates a JSON file; throws {@link JsonFileError} naming the line (syntax) or field (schema) that is wrong. */
export function readJsonFile<S extends z.ZodType>(path: string, schema: S): z.output<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new JsonFileError(`${path}: cannot read: ${(error as Error).message}`);
  }
  return parseJsonText(path, text, schema);
}

export function parseJsonText<S extends z.ZodType>(path: string, text: string, schema: S): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new JsonFileError(`${path}: invalid JSON${lineOf(text, (error as Error).message)}: ${(error as Error).message}`);
  }
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `  ${fieldPath(issue.path) || '(top level)'}: ${issue.message}`);
  throw new JsonFileError(`${path}: invalid:\n${problems.join('\n')}`);
}

/** "tools.record_test_outcome.deny_if[0].op" */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i ? '.' : ''}${String(key)}`)).join('');
}

/** " at line 3, column 5" from a V8 message that gives a position. */
function lineOf(text: string, message: string): string {
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position === undefined) return '';
  const before = text.slice(0, Number(position)).split('\n');
  return ` at line ${before.length}, column ${before.at(-1)!.length + 1}`;
}
