// Figures 6 and 7: what CI runners pay. A generated pytest suite run with the plugin, without it,
// and with the server unreachable (wall time); a large JUnit XML file imported through the gateway.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from '../../test/harness/apps.js';
import { testEnv } from '../../test/harness/processes.js';

/** Where the plugin's package lives in the repo: `-p mcp_pytest` finds it there without an install. */
const PLUGIN_PATH = join(root, 'clients', 'pytest', 'src');

/** A suite of `tests` quick tests in files of 100: mostly passing, some failing, skipped and parametrized. */
export function generateSuite(dir: string, tests: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'pytest.ini'), '[pytest]\naddopts = -p no:cacheprovider\n');
  for (let file = 0; file * 100 < tests; file++) {
    const lines = ['import pytest', ''];
    for (let i = 0; i < Math.min(100, tests - file * 100); i++) {
      const n = file * 100 + i;
      if (n % 50 === 7) lines.push(`def test_${n}():`, `    assert ${n} == ${n + 1}`, '');
      else if (n % 50 === 13) lines.push(`@pytest.mark.skip(reason="not on this platform")`, `def test_${n}():`, '    pass', '');
      else lines.push(`def test_${n}():`, `    assert ${n} == ${n}`, '');
    }
    writeFileSync(join(dir, `test_gen_${file}.py`), lines.join('\n'));
  }
}

export interface PytestRun {
  seconds: number;
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs pytest in `dir` (quietly) with extra arguments and environment; wall time from spawn to exit. */
export function runPytest(dir: string, args: string[], env: Record<string, string> = {}): PytestRun {
  const t0 = performance.now();
  const run = spawnSync('python3', ['-m', 'pytest', '-q', '--no-header', '-o', 'console_output_style=classic', ...args], {
    cwd: dir,
    env: testEnv({ PYTHONPATH: PLUGIN_PATH, ...env }),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { seconds: (performance.now() - t0) / 1000, status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/**
 * Runs each variant `rounds` times, one of each in turn (so that the machine's noise falls on all of them
 * alike), and gives each one's median wall time beside its first run (kept to check its output).
 */
export function interleavedRuns<K extends string>(rounds: number, variants: Record<K, () => PytestRun>): Record<K, PytestRun & { median: number }> {
  const names = Object.keys(variants) as K[];
  const runs = new Map<K, PytestRun[]>(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) for (const name of names) runs.get(name)!.push(variants[name]());
  const median = (list: PytestRun[]) => list.map((r) => r.seconds).sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
  return Object.fromEntries(names.map((name) => [name, { ...runs.get(name)![0]!, median: median(runs.get(name)!) }])) as Record<
    K,
    PytestRun & { median: number }
  >;
}

const escapeXml = (text: string) => text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

/** A pytest-style JUnit XML file of `cases` test cases: one in 20 failing with a traceback, one in 50 skipped. */
export function generateJUnit(path: string, cases: number): { failed: number; skipped: number; passed: number } {
  const parts: string[] = [];
  let failed = 0;
  let skipped = 0;
  for (let n = 0; n < cases; n++) {
    const file = `tests/test_mod_${Math.floor(n / 100)}.py`;
    const open = `<testcase classname="tests.test_mod_${Math.floor(n / 100)}" name="test_${n}" file="${file}" line="${n % 100}" time="0.00${n % 10}"`;
    if (n % 20 === 3) {
      failed++;
      const trace = escapeXml(
        `def test_${n}():\n>       assert compute(${n}) == ${n + 1}\nE       assert ${n} == ${n + 1}\n\n${file}:${n % 100}: AssertionError`,
      );
      parts.push(`${open}><failure message="assert ${n} == ${n + 1}">${trace}</failure></testcase>`);
    } else if (n % 50 === 11) {
      skipped++;
      parts.push(`${open}><skipped type="pytest.skip" message="not on this platform">${file}:${n % 100}: not on this platform</skipped></testcase>`);
    } else parts.push(`${open} />`);
  }
  writeFileSync(
    path,
    `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="${failed}" skipped="${skipped}" tests="${cases}" time="12.3" timestamp="2026-12-01T00:00:00" hostname="ci-1">` +
      `${parts.join('')}</testsuite></testsuites>`,
  );
  return { failed, skipped, passed: cases - failed - skipped };
}

/** `mcp-pytest import junit FILE` against the gateway: wall time of the whole command, and its summary line. */
export function importJUnit(path: string, url: URL): { seconds: number; stdout: string; stderr: string; status: number | null } {
  const t0 = performance.now();
  const run = spawnSync(process.execPath, [join(root, 'bin/mcp-pytest.mjs'), 'import', 'junit', path, '--url', url.href], {
    env: testEnv(),
    encoding: 'utf8',
  });
  return { seconds: (performance.now() - t0) / 1000, stdout: run.stdout, stderr: run.stderr, status: run.status };
}

export const pytestVersion = (): string =>
  spawnSync('python3', ['-m', 'pytest', '--version'], { encoding: 'utf8' })
    .stdout.trim()
    .replace(/^pytest /, '') || 'unknown';
