import { execFile } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { root } from './apps.js';
import { Proc, testEnv } from './processes.js';

const run = promisify(execFile);

const BIN = join(root, 'bin/mcp-pytest.mjs');

/** The `mcp-pytest` command line, as a user runs it; resolves with its stdout and stderr (rejects where it exits non-zero). */
export async function cli(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [BIN, ...args], { cwd: root, env: testEnv(env) });
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The `mcp-pytest` command line run to its end whatever its exit code, for tests of its failures: its code,
 * stdout and stderr. `cwd` (the repository by default) is where relative file names are read; an `undefined`
 * in `env` leaves that variable out.
 */
export function cliRun(args: string[], { env = {}, cwd = root }: { env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<CliRun> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: testEnv(env) }, (error, stdout, stderr) =>
      // A process ended by a signal has no exit code: -1, never a false 0.
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** A long-running `mcp-pytest` command (e.g. `audit tail`). */
export const cliProcess = (args: string[], env: Record<string, string> = {}): Proc =>
  Proc.spawn(`mcp-pytest ${args.join(' ')}`, process.execPath, [BIN, ...args], env);

/** A temporary folder with a suite's POLICY_FILE and KEYS_FILE, written as a user would. */
export class PolicyFiles {
  readonly policy: string;
  readonly keys: string;

  private constructor(readonly dir: string) {
    this.policy = join(dir, 'policy.json');
    this.keys = join(dir, 'keys.json');
  }

  static create(policy?: object): PolicyFiles {
    const files = new PolicyFiles(mkdtempSync(join(tmpdir(), 'mcp-pytest-policy-')));
    if (policy) files.writePolicy(policy);
    return files;
  }

  /** Replaces the policy file at once (as editors that write a copy and rename do). */
  writePolicy(policy: object | string): void {
    const next = `${this.policy}.next`;
    writeFileSync(next, typeof policy === 'string' ? policy : JSON.stringify(policy, null, 2));
    renameSync(next, this.policy);
  }

  /** A new key for the agent, from `mcp-pytest keys add`. */
  async addKey(agent: string, grant: string): Promise<string> {
    const { stdout } = await cli(['keys', 'add', '--agent', agent, '--grant', grant, '--file', this.keys]);
    return stdout.trim();
  }

  async revoke(agent: string): Promise<void> {
    await cli(['keys', 'revoke', '--agent', agent, '--file', this.keys]);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
