import type { z } from 'zod';
import { LIMITS } from './limits.js';

/** Issues named in one description, at most: a hostile value can break a rule a million times. */
const MAX_ISSUES = 10;

/** One problem as people read it: "field.path: rule" (the rule alone at the top level). */
export const describeAt = (path: readonly PropertyKey[], message: string): string => (path.length ? `${path.map(String).join('.')}: ${message}` : message);

/**
 * A failed validation as people read it: "field: rule; …", each issue naming its field, the first
 * few issues only and at most LIMITS.reasonChars characters, whatever was validated.
 */
export function describeIssues(error: z.ZodError): string {
  const { issues } = error;
  const named = issues.slice(0, MAX_ISSUES).map((issue) => describeAt(issue.path, issue.message));
  if (issues.length > MAX_ISSUES) named.push(`and ${issues.length - MAX_ISSUES} more`);
  return boundedReason(named.join('; '));
}

/** Keeps a reason (which may quote caller data) within LIMITS.reasonChars. */
export const boundedReason = (text: string): string => (text.length <= LIMITS.reasonChars ? text : `${text.slice(0, LIMITS.reasonChars - 1)}…`);
