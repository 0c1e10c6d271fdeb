import type { z } from 'zod';

/** A failed validation as people read it: "field: rule; …", each issue naming its field (dotted path). */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message)).join('; ');
}
