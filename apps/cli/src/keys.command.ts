import { createHash, randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { AgentName, GrantName, KeysFile } from '#contracts';
import { JsonFileError, readJsonFile } from '#platform/json-file';
import { check, CliError, note, oneLine, out, table, UsageError } from './cli.js';

const FILE_FLAG = ['--file <PATH>', 'the keys file (default: $KEYS_FILE); created by the first add'] as const;
const NAME_RULE = '1–64 letters, digits, "_" or "-"';

/** `mcp-pytest keys add|revoke|list`. */
export function keysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .summary('add, revoke and list the gateway’s bearer keys (the keys file)')
    .description(
      'Manages the bearer keys the gateway accepts over HTTP. The keys file holds each agent’s grant and the SHA-256 of its key, never the key itself.',
    );

  keys
    .command('add')
    .summary('make a key for a new agent and print it on stdout, once')
    .description('Makes a key for a new agent and prints it on stdout, once: KEY=$(mcp-pytest keys add …). One key per agent: revoke first to rotate.')
    .usage('--agent NAME --grant NAME [--file PATH]')
    .requiredOption('--agent <NAME>', `the calling agent: ${NAME_RULE}`)
    .requiredOption('--grant <NAME>', `the group whose policy applies to the agent (${NAME_RULE})`)
    .option(...FILE_FLAG)
    .action((options: { agent: string; grant: string; file?: string }) => addKey(options));

  keys
    .command('revoke')
    .summary('remove the agent’s key')
    .usage('--agent NAME [--file PATH]')
    .requiredOption('--agent <NAME>', `the agent whose key goes: ${NAME_RULE}`)
    .option(...FILE_FLAG)
    .action((options: { agent: string; file?: string }) => revokeKey(options));

  keys
    .command('list')
    .summary('agents, grants and when their keys were made')
    .usage('[--file PATH]')
    .option(...FILE_FLAG)
    .action((options: { file?: string }) => listKeys(options));
}

function addKey(options: { agent: string; grant: string; file?: string }): void {
  const agent = check(AgentName, options.agent, '--agent');
  const grant = check(GrantName, options.grant, '--grant');
  const path = keysPath(options.file);
  const file = readKeys(path, true);
  if (file.keys.some((entry) => entry.agent === agent)) {
    throw new CliError(`agent "${agent}" already has a key in ${path}: revoke it first (mcp-pytest keys revoke --agent ${agent})`);
  }
  const key = `mcpp_${randomBytes(32).toString('base64url')}`;
  const sha256 = createHash('sha256').update(key).digest('hex');
  writeKeys(path, { keys: [...file.keys, { agent, grant, sha256, created_at: new Date().toISOString() }] });
  out(key);
  note(`key for agent "${agent}" (grant "${grant}") added to ${path}; it is shown this once and stored only as its SHA-256`);
}

function revokeKey(options: { agent: string; file?: string }): void {
  const agent = check(AgentName, options.agent, '--agent');
  const path = keysPath(options.file);
  const file = readKeys(path, true);
  const keys = file.keys.filter((entry) => entry.agent !== agent);
  if (keys.length === file.keys.length) throw new CliError(`no key for agent "${agent}" in ${path}`);
  writeKeys(path, { keys });
  note(`revoked the key of agent "${agent}" in ${path}`);
}

function listKeys(options: { file?: string }): void {
  const path = keysPath(options.file);
  const { keys } = readKeys(path, false);
  if (keys.length === 0) return out(`No keys in ${path}.`);
  table([['AGENT', 'GRANT', 'CREATED'], ...keys.map((k) => [k.agent, k.grant, k.created_at ?? '-'])]).forEach(out);
}

function keysPath(file: string | undefined): string {
  const path = file || process.env.KEYS_FILE;
  if (!path) throw new UsageError('no keys file: give --file PATH or set KEYS_FILE');
  return path;
}

/** The keys file, or none yet where it does not exist; an invalid one is never rewritten. */
function readKeys(path: string, forWrite: boolean): KeysFile {
  if (!existsSync(path)) return { keys: [] };
  try {
    return readJsonFile(path, KeysFile);
  } catch (error) {
    if (!(error instanceof JsonFileError)) throw error;
    throw new CliError(`${oneLine(error.message)}${forWrite ? ' (left unchanged: fix or move it first)' : ''}`);
  }
}

/** Writes a temporary file beside the keys file and renames it over: the gateway never reads half a file. */
function writeKeys(path: string, file: KeysFile): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(temp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx', flush: true });
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new CliError(`cannot write ${path}: ${(error as Error).message}`);
  }
}
