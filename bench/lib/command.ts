// External commands the figures time (pytest, the mcp-pytest CLI).
import { spawnSync } from 'node:child_process';
import { testEnv } from '../../test/harness/processes.js';

export interface CommandRun {
  /** Wall time from spawn to exit. */
  seconds: number;
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end in `cwd`, `env` on top of the basics (see testEnv). */
export function timedCommand(command: string, args: string[], { cwd, env = {} }: { cwd?: string; env?: Record<string, string> } = {}): CommandRun {
  const t0 = performance.now();
  const run = spawnSync(command, args, { cwd, env: testEnv(env), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { seconds: (performance.now() - t0) / 1000, status: run.status, stdout: run.stdout, stderr: run.stderr };
}
