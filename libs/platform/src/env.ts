import { existsSync } from 'node:fs';
import type { z } from 'zod';

/**
 * Parses the process environment with an app's schema. A bad value stops start-up with a message
 * naming the variable and the rule.
 */
export function parseEnv<S extends z.ZodType>(schema: S, raw: Record<string, unknown>): z.infer<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
  throw new Error(`Invalid configuration:\n${problems}`);
}

/**
 * Reads `.env` from the working directory into the process environment, where it exists; variables
 * already set win. Every entry point calls this first, so all settings come from one place.
 */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}
