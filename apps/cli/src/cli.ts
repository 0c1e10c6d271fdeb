import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { z } from 'zod';
import { Duration } from '#contracts';
import { natsAuth, refusedCredentials, type NatsAuth } from '#nats/auth';
import { natsServers } from '#nats/connect';
import { AuditStreamEnv } from '#nats/env';
import type { StoreOptions } from '#nats/provision';
import { resolveReplicas } from '#nats/replicas';
import { parseEnv } from '#platform/env';
import { fieldPath } from '#platform/json-file';

/** The command line is wrong: answered with a pointer to `--help` and exit code 2. */
export class UsageError extends Error {}

/** The command was understood but cannot be done (exit code 1). */
export class CliError extends Error {}

export const note = (line: string): void => void process.stderr.write(`${line}\n`);

const stdoutReader = new AbortController();
/** Aborted once stdout cannot be written any more (its reader, e.g. `| head`, has gone): a follow then stops. */
export const stdoutGone: AbortSignal = stdoutReader.signal;

/**
 * A reader that goes away before the output ends (`mcp-pytest audit tail | head`) is an ordinary end, as
 * for any Unix command: output stops and the command exits 0, with no EPIPE stack trace. Another write
 * error is named in one line (exit 1).
 */
export function endQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') {
      note(`mcp-pytest: cannot write to stdout: ${error.message}`);
      process.exitCode = 1;
    }
    stdoutReader.abort();
  });
}

/** Text on stdout while it has a reader (commander's help goes through here too). */
export const write = (text: string): void => {
  if (!stdoutGone.aborted) process.stdout.write(text);
};

export const out = (line: string): void => write(`${line}\n`);

/** Line breaks, terminal escapes, other control and format characters (bidi overrides, zero widths). */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `\n`, `\r`, `\t`, else `\uXXXX` per UTF-16 unit: what JSON writes too, so JSON text stays JSON. */
function escapeChar(char: string): string {
  return NAMED_ESCAPES[char] ?? Array.from({ length: char.length }, (_, i) => `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');
}

/**
 * Text from the streams (a caller's tool name, an approver's reason) as it may go into a row: every
 * character that could end the row or steer the terminal is written as an escape, and `\` as `\\`, so
 * a name cannot print a row of its own or pass for another.
 */
export const printable = (text: string): string => text.replaceAll('\\', '\\\\').replace(UNPRINTABLE, escapeChar);

/**
 * One line of JSON text (e.g. an approval's arguments) as it may go into a row: JSON escapes its own
 * backslashes and C0 controls; what it leaves raw (C1, bidi, U+2028…) is escaped too, and it stays JSON.
 */
export const printableJson = (json: string): string => json.replace(UNPRINTABLE, escapeChar);

/** What JSON.stringify leaves raw in strings; its C0 characters are only the indentation's line breaks. */
const RAW_IN_JSON = /[\u007f-\u009f\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;

/** `value` as JSON (indented by `indent` spaces), what JSON leaves raw in its strings escaped: the same value when parsed. */
export const jsonText = (value: unknown, indent?: number): string => JSON.stringify(value, null, indent).replace(RAW_IN_JSON, escapeChar);

/** Text in double quotes, printable, its quotes escaped. */
export const quoted = (text: string): string => `"${printable(text).replaceAll('"', '\\"')}"`;

/** Characters of caller text an error message quotes, at most: enough to recognise it, never a file's worth. */
export const EXCERPT_CHARS = 200;

/** The first EXCERPT_CHARS characters of `text`, "…" where it goes on. */
export const excerpt = (text: string): string => (text.length <= EXCERPT_CHARS ? text : `${text.slice(0, EXCERPT_CHARS - 1)}…`);

/**
 * Caller text (a file's classname, a spool's url) as an error message names it: quoted, printable and clipped,
 * so a 5 MB attribute makes a line of a few hundred characters, not a 5 MB one.
 */
export const quotedExcerpt = (text: string): string => quoted(excerpt(text));

/** A multi-line message (zod issues, env problems) as one line. */
export function oneLine(message: string): string {
  const [head = '', ...rest] = message
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return rest.length ? `${head} ${rest.join('; ')}` : head;
}

/** Validates one argument with a contract schema; a bad one is a usage error naming the flag. */
export function check<S extends z.ZodType>(schema: S, value: unknown, flag: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const where = fieldPath(issue.path);
  throw new UsageError(`invalid ${flag} ${JSON.stringify(value)}: ${where ? `${where}: ` : ''}${issue.message}`);
}

/** The help's note on the settings of the NATS commands. */
export const NATS_ENVIRONMENT =
  '\nEnvironment: NATS_URL (default nats://127.0.0.1:4222), NATS_REPLICAS; as a NATS user: NATS_USER and NATS_PASSWORD (or NATS_PASSWORD_FILE), or NATS_NKEY_SEED_FILE, or NATS_CREDS_FILE.';

export interface Nats {
  env: AuditStreamEnv;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Streams the CLI creates get NATS_REPLICAS as this cluster resolves it. */
  store: StoreOptions;
}

/**
 * Connects to NATS_URL. Unlike the apps' connectNats, a server that is down is an error at once:
 * a command typed by a person should fail, not wait for ever.
 */
async function openNats(): Promise<Nats> {
  let env: AuditStreamEnv;
  let auth: NatsAuth;
  try {
    env = parseEnv(AuditStreamEnv, process.env);
    auth = natsAuth((name) => env[name]);
  } catch (error) {
    throw new CliError(oneLine((error as Error).message));
  }
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: natsServers(env.NATS_URL), name: 'mcp-pytest-cli', noAsyncTraces: true, maxReconnectAttempts: -1, ...auth });
  } catch (error) {
    throw new CliError(refusedCredentials(error, env.NATS_URL) ?? `cannot connect to NATS at ${env.NATS_URL} (NATS_URL): ${(error as Error).message}`);
  }
  try {
    const jsm = await jetstreamManager(nc);
    return { env, nc, js: jetstream(nc), jsm, store: { replicas: resolveReplicas(env.NATS_REPLICAS, nc), log: note } };
  } catch (error) {
    await nc.close();
    throw error;
  }
}

/** Runs `work` with a NATS connection, drained afterwards whatever happens. */
export async function withNats<T>(work: (nats: Nats) => Promise<T>): Promise<T> {
  const nats = await openNats();
  try {
    return await work(nats);
  } finally {
    if (!nats.nc.isClosed()) await nats.nc.drain();
  }
}

/** A message's JSON body, or undefined where it is not JSON (then a schema check names it). */
export function jsonOf(msg: { json<T>(): T }): unknown {
  try {
    return msg.json();
  } catch {
    return undefined;
  }
}

/** "45s", "12m", "3h", "2d": whole units, rounded down. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** "30s", "10m", "2h", "1d" in milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const parsed = Duration.safeParse(text);
  if (!parsed.success) throw new UsageError(`invalid ${flag} "${text}": give a number and a unit, e.g. 30s, 10m, 2h or 1d`);
  return parsed.data;
}

/** Rows as left-aligned columns, two spaces apart; the last column is not padded. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '));
}
