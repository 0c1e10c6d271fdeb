// Figure 6: what a CI runner pays for the plugin. A generated pytest suite run without it, with it,
// and with the server unreachable (a closed port) or blackholed (never answers): wall time.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from '../../test/harness/apps.js';
import { freePort } from '../../test/harness/processes.js';
import { BACKLOG_OWNER } from '../lib/backlog.js';
import { timedCommand, type CommandRun } from '../lib/command.js';
import { cfg } from '../lib/config.js';
import type { Report } from '../lib/report.js';
import { checkFailed, onCleanup, out, step } from '../lib/run.js';
import type { System } from '../lib/system.js';

type SuiteRuns = Record<'plain' | 'plugin' | 'unreachable' | 'blackholed', CommandRun & { median: number }>;

export async function pytestSuiteFigure(sys: System): Promise<SuiteRuns> {
  out(
    `6. A generated ${cfg.suiteTests.toLocaleString('en-US')}-test pytest suite (python3 -m pytest -q), median of ${cfg.suiteRounds} runs each, taken in turn`,
  );
  const suite = await step('pytest with and without the plugin', () => suiteRuns(sys.apps.gateway.mcpUrl));
  for (const [label, run] of Object.entries(suite)) {
    out(`  ${label.padEnd(12)} ${run.median.toFixed(2)} s   exit ${run.status}   ${run.stdout.trim().split('\n').at(-1)}`);
  }
  const pluginSession = /session (\S+) recorded/.exec(suite.plugin.stdout + suite.plugin.stderr)?.[1];
  const pluginView = pluginSession ? (await sys.getSession({ session_id: pluginSession, owner: BACKLOG_OWNER })).response : undefined;
  const counted =
    pluginView?.counts.total === cfg.suiteTests && [suite.plugin, suite.unreachable, suite.blackholed].every((run) => run.status === suite.plain.status);
  out(
    `  plugin's session ${pluginSession ?? '(not named)'}: counts.total ${pluginView?.counts.total ?? '—'} of ${cfg.suiteTests}; exit statuses ${counted ? 'equal' : 'DIFFER'}`,
  );
  if (!counted) checkFailed('plugin run: the session does not hold every test, or the exit status changed');
  out();
  return suite;
}

export function pytestSuiteRows(report: Report, suite: SuiteRuns): void {
  report.compare(
    '6 pytest suite with the plugin, wall time',
    suite.plugin.median,
    suite.plain.median,
    (n) => `${n.toFixed(2)} s`,
    { kind: 'lower', bound: 1.1 },
    '(without)',
  );
  for (const [figure, run] of [
    ['6 … server unreachable (port closed), time added', suite.unreachable],
    ['6 … server blackholed (never answers), time added', suite.blackholed],
  ] as const) {
    const added = run.median - suite.plain.median;
    report.add({
      figure,
      value: `${added.toFixed(2)} s`,
      reference: `${suite.plain.median.toFixed(2)} s (without)`,
      target: '< 3 s',
      met: added < 3 ? 'yes' : 'NO',
    });
  }
}

export const pytestSuiteNote = (): string =>
  `- pytest: a generated suite of ${cfg.suiteTests.toLocaleString('en-US')} quick tests (2% failing, 2% skipped) run with \`python3 -m pytest -q\` (pytest ${pytestVersion()}), ` +
  `the median wall time of ${cfg.suiteRounds} runs each, taken in turn, without the plugin, with it (\`--mcp-url\` to the gateway; the session's counts checked), with it pointed at a closed port, and at a server that accepts connections and never answers (everything spooled).`;

/** The suite run without the plugin, with it (to `gateway`), and with it pointed at a closed port and at a blackhole. */
async function suiteRuns(gateway: URL): Promise<SuiteRuns> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-pytest-bench-suite-'));
  onCleanup('generated suite', async () => rmSync(dir, { recursive: true, force: true }));
  generateSuite(dir, cfg.suiteTests);
  const closed = `http://127.0.0.1:${await freePort()}/mcp`;
  // Accepts connections and never answers: the kernel completes them while the bench waits on pytest.
  const held = new Set<Socket>();
  const blackhole = createServer((socket) => held.add(socket));
  await new Promise<void>((listening) => blackhole.listen(0, '127.0.0.1', listening));
  onCleanup('blackhole server', async () => {
    for (const socket of held) socket.destroy();
    blackhole.close();
  });
  const blackholed = `http://127.0.0.1:${(blackhole.address() as AddressInfo).port}/mcp`;
  return interleavedRuns(cfg.suiteRounds, {
    plain: () => runPytest(dir, []),
    plugin: () => runPytest(dir, ['-p', 'mcp_pytest', '--mcp-url', gateway.href]),
    unreachable: () => runPytest(dir, ['-p', 'mcp_pytest', '--mcp-url', closed, '--mcp-spool', join(dir, 'spool.jsonl')]),
    blackholed: () => runPytest(dir, ['-p', 'mcp_pytest', '--mcp-url', blackholed, '--mcp-spool', join(dir, 'spool-2.jsonl')]),
  });
}

/** Where the plugin's package lives in the repo: `-p mcp_pytest` finds it there without an install. */
const PLUGIN_PATH = join(root, 'clients', 'pytest', 'src');

/** A suite of `tests` quick tests in files of 100: mostly passing, some failing, skipped and parametrized. */
function generateSuite(dir: string, tests: number): void {
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

/** Runs pytest in `dir` (quietly) with extra arguments. */
const runPytest = (dir: string, args: string[]): CommandRun =>
  timedCommand('python3', ['-m', 'pytest', '-q', '--no-header', '-o', 'console_output_style=classic', ...args], { cwd: dir, env: { PYTHONPATH: PLUGIN_PATH } });

/**
 * Runs each variant `rounds` times, one of each in turn (so that the machine's noise falls on all of them
 * alike), and gives each one's median wall time beside its first run (kept to check its output).
 */
function interleavedRuns<K extends string>(rounds: number, variants: Record<K, () => CommandRun>): Record<K, CommandRun & { median: number }> {
  const names = Object.keys(variants) as K[];
  const runs = new Map<K, CommandRun[]>(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) for (const name of names) runs.get(name)!.push(variants[name]());
  const median = (list: CommandRun[]) => list.map((r) => r.seconds).sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
  return Object.fromEntries(names.map((name) => [name, { ...runs.get(name)![0]!, median: median(runs.get(name)!) }])) as Record<
    K,
    CommandRun & { median: number }
  >;
}

const pytestVersion = (): string =>
  spawnSync('python3', ['-m', 'pytest', '--version'], { encoding: 'utf8' })
    .stdout.trim()
    .replace(/^pytest /, '') || 'unknown';
