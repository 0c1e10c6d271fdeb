import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv as parseEnvText } from 'node:util';
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

/** Names another settings file than the project's `.env`; empty: read none. */
const ENV_FILE_VARIABLE = 'MCP_PYTEST_ENV_FILE';

/** Settings that name files: a relative one in a settings file is taken from that file's folder. */
const PATH_SETTINGS = ['KEYS_FILE', 'POLICY_FILE', 'NATS_PASSWORD_FILE', 'NATS_NKEY_SEED_FILE', 'NATS_CREDS_FILE'];

/**
 * The project's folder: the nearest one above this module with a package.json (the install, whether
 * this runs from dist/ or from the sources), wherever the process was started from.
 */
export const projectRoot = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    if (dirname(dir) === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = dirname(dir);
  }
  return dir;
})();

/**
 * The settings file to read: `$MCP_PYTEST_ENV_FILE` where set (empty: none), else the project's `.env`
 * where it exists. Never the working directory's: an MCP client that starts the gateway in another
 * folder gets the same settings as `npm start`.
 */
export function settingsFile(env: NodeJS.ProcessEnv = process.env, root = projectRoot): string | undefined {
  const chosen = env[ENV_FILE_VARIABLE];
  if (chosen === undefined) {
    const file = join(root, '.env');
    return existsSync(file) ? file : undefined;
  }
  if (chosen === '') return undefined;
  const file = resolve(chosen);
  if (!existsSync(file)) throw new Error(`Invalid configuration: ${ENV_FILE_VARIABLE}=${chosen}: no such file`);
  return file;
}

/** The variables of a settings file, with relative file settings (PATH_SETTINGS) made absolute from its folder. */
export function readSettings(file: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`Invalid configuration: cannot read the settings file ${file}: ${(error as Error).message}`, { cause: error });
  }
  const values = parseEnvText(text) as Record<string, string>;
  for (const name of PATH_SETTINGS) {
    const value = values[name];
    if (value && !isAbsolute(value)) values[name] = resolve(dirname(file), value);
  }
  return values;
}

/**
 * Loads the settings file (see settingsFile) into the process environment; variables already set win.
 * Every entry point calls this first, so all settings come from one place.
 */
export function loadDotEnv(env: NodeJS.ProcessEnv = process.env): void {
  const file = settingsFile(env);
  if (!file) return;
  for (const [name, value] of Object.entries(readSettings(file))) env[name] ??= value;
}
