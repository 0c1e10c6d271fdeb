import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime. */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] is field 3, "state". */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** User + system CPU time of a process so far, in µs (resolution 1/CLK_TCK s). */
export function cpuMicros(pid: number): number {
  const fields = statFields(pid);
  // utime is field 14 and stime field 15 of /proc/<pid>/stat, i.e. [11] and [12] here.
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
}

/** Resident set size of a process in KiB (VmRSS of /proc/<pid>/status). */
export function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : Number.NaN;
}

/** Children of `parent` whose command name is `comm` (e.g. the nats-server the harness started). */
export function childPids(parent: number, comm: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name === comm && Number(statFields(Number(entry))[1]) === parent) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Busy and total jiffies of the whole machine (first line of /proc/stat). */
export function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

export function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) return match[1]!.trim();
  } catch {
    // fall through
  }
  return cpus()[0]?.model ?? 'unknown';
}

export function natsServerVersion(binary = process.env.NATS_SERVER_BIN ?? 'nats-server'): string {
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8' })
      .trim()
      .replace(/^nats-server:\s*/, '');
  } catch {
    return 'unknown';
  }
}

/**
 * CPU time of a set of processes (and this one) over a window: start it, run the load, stop it.
 * Each process's figure is µs of CPU; `machineBusy` is the share of all cores that was busy.
 */
export class CpuWindow {
  private readonly before = new Map<string, number>();
  private selfBefore = process.cpuUsage();
  private machineBefore = machineJiffies();
  private startedAt = performance.now();

  constructor(private readonly pids: Record<string, number | undefined>) {}

  start(): void {
    this.before.clear();
    for (const [name, pid] of Object.entries(this.pids)) if (pid) this.before.set(name, cpuMicros(pid));
    this.selfBefore = process.cpuUsage();
    this.machineBefore = machineJiffies();
    this.startedAt = performance.now();
  }

  stop(): { seconds: number; micros: Record<string, number>; machineBusy: number } {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const micros: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const before = this.before.get(name);
      if (pid && before !== undefined) {
        try {
          micros[name] = cpuMicros(pid) - before;
        } catch {
          micros[name] = Number.NaN;
        }
      }
    }
    const self = process.cpuUsage(this.selfBefore);
    micros.bench = self.user + self.system;
    const machine = machineJiffies();
    const machineBusy = (machine.busy - this.machineBefore.busy) / Math.max(1, machine.total - this.machineBefore.total);
    return { seconds, micros, machineBusy };
  }
}
