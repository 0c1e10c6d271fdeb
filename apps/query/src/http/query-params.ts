import type { z } from 'zod';
import { describeIssues } from '#contracts';
import { HttpRefusal } from './http-answers.js';

/** A query string as the object a read's schema takes: each parameter once (a repeated one is refused, not guessed at). */
export function queryParams(search: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(search)) {
    if (Object.hasOwn(params, name)) throw new HttpRefusal(400, 'INVALID_ARGUMENTS', `${name}: given more than once`);
    params[name] = value;
  }
  return params;
}

/** Parameters checked by the read's own (strict) schema, as its MCP tool checks its arguments: 400 naming each bad one. */
export function parseParams<S extends z.ZodType>(schema: S, params: Record<string, string>): z.output<S> {
  const parsed = schema.safeParse(params);
  if (!parsed.success) throw new HttpRefusal(400, 'INVALID_ARGUMENTS', describeIssues(parsed.error));
  return parsed.data;
}
