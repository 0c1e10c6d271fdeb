import { createHash, randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AgentName, GrantName, KeysFile } from '#contracts';
import { JsonFileError, readJsonFile } from '#platform/json-file';
import { check, CliError, note, oneLine, out, parse, required, table, UsageError, type CommandGroup } from './cli.js';

const HELP = `Usage:
  mcp-pytest keys add --agent NAME --grant NAME [--file PATH]
  mcp-pytest keys revoke --agent NAME [--file PATH]
  mcp-pytest keys list [--file PATH]

Manages the bearer keys the gateway accepts over HTTP. The keys file holds each agent's grant and
the SHA-256 of its key, never the key itself.

  add      makes a key for a new agent and prints it on stdout, once: KEY=$(mcp-pytest keys add …)
  revoke   removes the agent's key
  list     agents, grants and when their keys were made

Options:
  --agent NAME   the calling agent: 1–64 letters, digits, "_" or "-"
  --grant NAME   the group whose policy applies to the agent (same rule)
  --file PATH    the keys file (default: $KEYS_FILE); created by the first add`;

const fileOption = { file: { type: 'string' } } as const;

export const keysCommand: CommandGroup = {
  name: 'keys',
  summary: 'add, revoke and list the gateway’s bearer keys (the keys file)',
  help: HELP,
  async run([sub, ...args]) {
    switch (sub) {
      case 'add': {
        const { values } = parse(args, { agent: { type: 'string' }, grant: { type: 'string' }, ...fileOption });
        const agent = check(AgentName, required(values.agent, '--agent'), '--agent');
        const grant = check(GrantName, required(values.grant, '--grant'), '--grant');
        const path = keysPath(values.file);
        const file = readKeys(path, true);
        if (file.keys.some((entry) => entry.agent === agent)) {
          throw new CliError(`agent "${agent}" already has a key in ${path}: revoke it first (mcp-pytest keys revoke --agent ${agent})`);
        }
        const key = `mcpp_${randomBytes(32).toString('base64url')}`;
        const sha256 = createHash('sha256').update(key).digest('hex');
        writeKeys(path, { keys: [...file.keys, { agent, grant, sha256, created_at: new Date().toISOString() }] });
        out(key);
        note(`key for agent "${agent}" (grant "${grant}") added to ${path}; it is shown this once and stored only as its SHA-256`);
        return;
      }
      case 'revoke': {
        const { values } = parse(args, { agent: { type: 'string' }, ...fileOption });
        const agent = check(AgentName, required(values.agent, '--agent'), '--agent');
        const path = keysPath(values.file);
        const file = readKeys(path, true);
        const keys = file.keys.filter((entry) => entry.agent !== agent);
        if (keys.length === file.keys.length) throw new CliError(`no key for agent "${agent}" in ${path}`);
        writeKeys(path, { keys });
        note(`revoked the key of agent "${agent}" in ${path}`);
        return;
      }
      case 'list': {
        const { values } = parse(args, fileOption);
        const path = keysPath(values.file);
        const { keys } = readKeys(path, false);
        if (keys.length === 0) return out(`No keys in ${path}.`);
        table([['AGENT', 'GRANT', 'CREATED'], ...keys.map((k) => [k.agent, k.grant, k.created_at ?? '-'])]).forEach(out);
        return;
      }
      case undefined:
        throw new UsageError('say what to do: add, revoke or list');
      default:
        throw new UsageError(`unknown keys command "${sub}"`);
    }
  },
};

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
