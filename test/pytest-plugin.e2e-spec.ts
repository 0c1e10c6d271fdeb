import { execFile, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from './harness/apps.js';
import { McpTestClient } from './harness/mcp-client.js';
import { cli, PolicyFiles } from './harness/policy-files.js';
import { eventually, freePort, testEnv } from './harness/processes.js';
import { summaryCounts, type PytestCounts, type Tally } from './harness/pytest-run.js';
import { System } from './harness/system.js';

/*
 * The pytest plugin (clients/pytest) end to end: real pytest runs of test/fixtures/pytest-suite, recording
 * through a real gateway with a bearer key, read back with get_session and from the event stream.
 *
 * Three ways to get the plugin, on the two pytests this machine has:
 *   (a) pytest 9 (`python3`), `-p mcp_pytest` with PYTHONPATH=clients/pytest/src (a source checkout);
 *   (b) pytest 7.2 (Debian's /usr/bin/python3) with pytest-xdist (-n 2) and pytest-rerunfailures (--reruns 1);
 *   (c) `pip install --no-build-isolation` into a venv, loaded by its pytest11 entry point (no -p). This uses
 *       Debian's python: setuptools < 70.1 builds wheels only with the `wheel` package, which Debian has
 *       (python3-wheel) and the pyenv python does not, so pip cannot build any setuptools project there offline.
 *
 * Each run is checked against pytest's own account of it: the counts of get_session equal pytest's final
 * summary line and the JUnit XML's totals, where JUnit counts   failures = failed,   errors = error,
 *   skipped = skipped + xfailed (an xpassed test is a passed testcase; a rerun is no testcase),
 *   tests = every counted result (no test here both fails and errors in teardown, which JUnit counts once);
 * and pytest's exit code is the same as without the plugin.
 */

const SUITE_SOURCE = join(root, 'test/fixtures/pytest-suite');
/** pytest-reportlog's stand-in (`-p report_log_standin --report-log=PATH`): that plugin cannot be installed here. */
const FIXTURE_PLUGINS = join(root, 'test/fixtures/pytest-plugins');
const PLUGIN_SOURCE = join(root, 'clients/pytest/src');
const DEBIAN_PYTHON = '/usr/bin/python3';

const runs = (python: string, code: string) => spawnSync(python, ['-c', code], { env: testEnv(), stdio: 'ignore' }).status === 0;
const pytest9 = runs('python3', 'import pytest, sys; sys.exit(int(pytest.__version__.split(".")[0]) < 8)');
// .ci/run installs these from Debian's packages where they are missing, so CI always runs (b) and (c).
const debianPytest = runs(DEBIAN_PYTHON, 'import pytest, xdist, pytest_rerunfailures');
// pytest ≥ 9 has subtests built in; test_subtests.py is skipped as a whole elsewhere.
const builtinSubtests = pytest9 && runs('python3', 'import _pytest.subtests');
const debianVenv = debianPytest && runs(DEBIAN_PYTHON, 'import ensurepip, setuptools, wheel');
interface PytestRun {
  code: number;
  output: string;
  /** The plugin's lines ("mcp-pytest: …"). */
  said: string[];
  /** pytest's final summary line, word → number ("3 failed, 6 passed, 2 errors, 4 rerun"). */
  summary: Tally;
  /** The counts get_session must show for the run: the summary's outcomes (reruns are not counted, only last attempts). */
  counts: PytestCounts;
  junit: { tests: number; failures: number; errors: number; skipped: number };
  junitPath: string;
}

const files = PolicyFiles.create();
let system: System;
let ci: McpTestClient;
let key: string;
let url: string;
let work: string;
let suite: string;
let runCount = 0;

beforeAll(async () => {
  key = await files.addKey('ci-runner-1', 'ci');
  system = await System.start({ env: { KEYS_FILE: files.keys } });
  url = system.gateway.mcpUrl.href;
  ci = await McpTestClient.http(system.gateway.mcpUrl, { key });
  work = mkdtempSync(join(tmpdir(), 'mcp-pytest-plugin-'));
  // A copy, so pytest's files and the default spool (under the rootdir) never land in the source tree.
  suite = join(work, 'suite');
  cpSync(SUITE_SOURCE, suite, { recursive: true });
});
afterAll(async () => {
  await ci?.close();
  await system?.stop();
  files.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** pytest in the suite's copy, with JUnit XML; `env` on top of the test basics (none of the developer's settings). */
function pytest(python: string, args: string[], env: Record<string, string> = {}): Promise<PytestRun> {
  const junit = join(work, `junit-${++runCount}.xml`);
  const state = mkdtempSync(join(work, 'state-'));
  const argv = ['-m', 'pytest', '-p', 'no:cacheprovider', `--junitxml=${junit}`, ...args];
  const fullEnv = testEnv({ PYTHONDONTWRITEBYTECODE: '1', MCP_PYTEST_FIXTURE_STATE: state, ...env });
  return new Promise((resolve, reject) => {
    execFile(python, argv, { cwd: suite, env: fullEnv }, (error, stdout, stderr) => {
      const output = stdout + stderr;
      try {
        const { counts, tally } = summaryCounts(output);
        resolve({
          code: error ? Number(error.code) : 0,
          output,
          said: output.split('\n').filter((line) => line.startsWith('mcp-pytest:')),
          summary: tally,
          counts,
          junit: junitTotals(readFileSync(junit, 'utf8')),
          junitPath: junit,
        });
      } catch (failure) {
        reject(failure instanceof Error ? failure : new Error(String(failure))); // a run that ended before its summary (a usage error): fail now, not at the timeout
      }
    });
  });
}

function junitTotals(xml: string): PytestRun['junit'] {
  const attributes = /<testsuite\b([^>]*)>/.exec(xml)![1]!;
  const total = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(attributes)![1]);
  return { tests: total('tests'), failures: total('failures'), errors: total('errors'), skipped: total('skipped') };
}

/** The finished session as another client reads it (its view may lag the plugin's writes for a moment). */
const finishedView = (session_id: string) =>
  eventually(
    async () => {
      const view = await ci.ok('get_session', { session_id });
      return view.status === 'finished' && view;
    },
    10_000,
    `session ${session_id} finished`,
  );

const recordedLine = (id: string) => `mcp-pytest: session ${id} recorded at ${url} — read it with get_session {"session_id": "${id}"}`;

/**
 * Everything the plugin recorded agrees with pytest's own account of the run, and the plugin changed nothing.
 * `junitBeyond`: what JUnit counts that pytest's summary does not (a testcase for every subtest, passed ones too).
 */
async function expectRecorded(run: PytestRun, plain: PytestRun, sessionId: string, junitBeyond = { tests: 0, skipped: 0 }) {
  expect(run.code, run.output).toBe(plain.code);
  expect(run.summary).toEqual(plain.summary);
  expect(plain.said).toEqual([]);
  expect(run.said).toEqual([recordedLine(sessionId)]);
  const counts = run.counts;
  expect(run.junit).toEqual({
    tests: counts.total + junitBeyond.tests,
    failures: counts.failed,
    errors: counts.error,
    skipped: counts.skipped + counts.xfailed + junitBeyond.skipped,
  });
  const view = await finishedView(sessionId);
  expect(view).toMatchObject({ counts, exitstatus: run.code, reruns: run.summary.rerun ?? 0, summary_matches: true });
  const { passed, failed, skipped, error: errors, xfailed, xpassed, total: total_tests } = counts;
  expect(view.summary).toEqual({ total_tests, passed, failed, skipped, errors, xfailed, xpassed, exitstatus: run.code, duration: expect.any(Number) });
  return view;
}

const results = async (sessionId: string) =>
  (await system.probe.results(sessionId, 'ci')).map(({ nodeid, when, attempt, outcome, error }) => ({
    test: nodeid.replace('test_outcomes.py::', ''),
    when,
    attempt,
    outcome,
    error,
  }));

/** What pytest 9 reports for test_outcomes.py, result by result, without reruns. */
const singleRunResults = [
  { test: 'test_passes', when: 'call', attempt: 1, outcome: 'passed' },
  { test: 'test_fails', when: 'call', attempt: 1, outcome: 'failed', error: expect.stringContaining('AssertionError: arithmetic is broken on purpose') },
  { test: 'test_setup_errors', when: 'setup', attempt: 1, outcome: 'error', error: 'RuntimeError: setup broke on purpose' },
  { test: 'test_teardown_errors', when: 'call', attempt: 1, outcome: 'passed' },
  { test: 'test_teardown_errors', when: 'teardown', attempt: 1, outcome: 'error', error: 'RuntimeError: teardown broke on purpose' },
  { test: 'test_skip_marker', when: 'setup', attempt: 1, outcome: 'skipped', error: 'Skipped: skipped by a marker' },
  { test: 'test_skipif', when: 'setup', attempt: 1, outcome: 'skipped', error: 'Skipped: skipped because the condition holds' },
  { test: 'test_skip_imperative', when: 'call', attempt: 1, outcome: 'skipped', error: 'Skipped: skipped from inside the test' },
  { test: 'test_xfail_imperative', when: 'call', attempt: 1, outcome: 'xfailed', error: 'xfailed from inside the test' },
  { test: 'test_xfail_marker', when: 'call', attempt: 1, outcome: 'xfailed', error: 'known to fail' },
  { test: 'test_xpass', when: 'call', attempt: 1, outcome: 'xpassed', error: 'expected to fail, but passes' },
  { test: 'test_xpass_strict', when: 'call', attempt: 1, outcome: 'failed', error: '[XPASS(strict)] must fail, but passes' },
  { test: 'test_parametrized[one]', when: 'call', attempt: 1, outcome: 'passed' },
  { test: 'test_parametrized[two words]', when: 'call', attempt: 1, outcome: 'passed' },
  { test: 'test_parametrized[a/b::c]', when: 'call', attempt: 1, outcome: 'passed' },
  { test: 'test_ünïcödé[π]', when: 'call', attempt: 1, outcome: 'passed' },
  { test: 'test_flaky', when: 'call', attempt: 1, outcome: 'failed', error: expect.stringContaining('first attempt fails on purpose') },
];
/** What pytest reports for test_subtests.py at its default verbosity: a failed subtest is a result of its own. */
const subtestResults = builtinSubtests
  ? [
      {
        test: 'test_subtests.py::test_subtests [n is not 1] (n=1)',
        when: 'call',
        attempt: 1,
        outcome: 'failed',
        error: expect.stringContaining('one subtest fails on purpose'),
      },
      { test: 'test_subtests.py::test_subtests', when: 'call', attempt: 1, outcome: 'failed', error: 'contains 1 failed subtest' },
      { test: 'test_subtests.py::test_subtests_pass', when: 'call', attempt: 1, outcome: 'passed' },
      // Two subtests of the same name are two results in pytest's summary: the second is told apart by " #2".
      {
        test: 'test_subtests.py::test_same_subtest_twice (<subtest>)',
        when: 'call',
        attempt: 1,
        outcome: 'failed',
        error: expect.stringContaining('fails twice'),
      },
      {
        test: 'test_subtests.py::test_same_subtest_twice (<subtest>) #2',
        when: 'call',
        attempt: 1,
        outcome: 'failed',
        error: expect.stringContaining('fails twice'),
      },
      { test: 'test_subtests.py::test_same_subtest_twice', when: 'call', attempt: 1, outcome: 'failed', error: 'contains 2 failed subtests' },
    ]
  : [{ test: 'test_subtests.py', when: 'setup', attempt: 1, outcome: 'skipped', error: expect.stringContaining('no built-in subtests') }];
const byTest = (a: { test: string; when: string; attempt: number }, b: typeof a) =>
  a.test.localeCompare(b.test) || a.when.localeCompare(b.when) || a.attempt - b.attempt;
const sorted = <T extends { test: string; when: string; attempt: number }>(list: T[]) => [...list].sort(byTest);

interface SpoolLine {
  tool: string;
  arguments: { session_id: string; outcomes?: { nodeid: string }[]; summary?: { exitstatus: number } };
}
function readSpool(path: string): { header: unknown; calls: SpoolLine[] } {
  const [header, ...calls] = readFileSync(path, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
  return { header, calls };
}

/** A spool holds the whole session: the start, every outcome of the run, the finish; each call names the session. */
function expectWholeSession(path: string, sessionId: string, spoolUrl: string, run: PytestRun) {
  const text = readFileSync(path, 'utf8');
  expect(text).not.toContain(key);
  const { header, calls } = readSpool(path);
  expect(header).toEqual({ mcp_pytest_spool: 1, url: spoolUrl, session_id: sessionId });
  const tools = calls.map((c) => c.tool);
  expect(tools[0]).toBe('record_session_start');
  expect(tools.at(-1)).toBe('record_session_finish');
  expect(new Set(tools.slice(1, -1))).toEqual(new Set(['record_test_outcomes']));
  expect(calls.every((c) => c.arguments.session_id === sessionId)).toBe(true);
  expect(calls.flatMap((c) => c.arguments.outcomes ?? [])).toHaveLength(run.counts.total);
  expect(calls.at(-1)!.arguments.summary!.exitstatus).toBe(run.code);
  return calls;
}

describe('the pytest plugin records a run as pytest reports it', () => {
  it.skipIf(!pytest9)('(a) pytest 9, -p mcp_pytest from the source tree, with CI metadata from GitHub Actions variables', async () => {
    const sessionId = 'pytest9-source';
    const source = { PYTHONPATH: PLUGIN_SOURCE };
    const github = {
      GITHUB_ACTIONS: 'true',
      GITHUB_RUN_ID: '4242',
      GITHUB_JOB: 'tests',
      GITHUB_SHA: 'f'.repeat(40),
      GITHUB_REF_NAME: 'main',
      GITHUB_SERVER_URL: 'https://github.example',
      GITHUB_REPOSITORY: 'acme/shop',
    };
    const flags = ['-p', 'mcp_pytest', '--mcp-url', url, '--mcp-token', key, '--mcp-session-id', sessionId, '--mcp-project', 'shop-api'];
    const files = ['test_outcomes.py', 'test_subtests.py'];
    const [run, plain] = await Promise.all([pytest('python3', [...files, ...flags], { ...source, ...github }), pytest('python3', files, source)]);
    // test_subtests.py's four passed subtests, and its skipped and xfailed one, which pytest counts only with -v.
    const view = await expectRecorded(run, plain, sessionId, builtinSubtests ? { tests: 6, skipped: 2 } : undefined);
    expect(view).toMatchObject({
      project: 'shop-api',
      environment: { os: expect.any(String), python_version: expect.stringMatching(/^3\./), pytest: expect.stringMatching(/^(8|9)\./) },
      ci: {
        provider: 'github-actions',
        run_id: '4242',
        job: 'tests',
        commit: 'f'.repeat(40),
        branch: 'main',
        url: 'https://github.example/acme/shop/actions/runs/4242',
      },
    });
    expect(sorted(await results(sessionId))).toEqual(sorted([...singleRunResults, ...subtestResults]));
    const failed = (await system.probe.results(sessionId, 'ci')).find((r) => r.nodeid.endsWith('::test_fails'))!;
    expect(failed.longrepr).toContain('assert (2 + 2) == 5');
    expect(failed.location).toEqual({ path: 'test_outcomes.py', lineno: 9, domain: 'test_fails' });
  });

  it.skipIf(!builtinSubtests)("pytest 9's subtests with -v: skipped and xfailed subtests count too, passed ones do not", async () => {
    const sessionId = 'pytest9-subtests-verbose';
    const [run, plain] = await Promise.all([
      pytest('python3', ['test_subtests.py', '-v', '-p', 'mcp_pytest', '--mcp-url', url, '--mcp-session-id', sessionId], {
        PYTHONPATH: PLUGIN_SOURCE,
        MCP_PYTEST_TOKEN: key,
      }),
      pytest('python3', ['test_subtests.py', '-v'], { PYTHONPATH: PLUGIN_SOURCE }),
    ]);
    // "4 subtests passed": a category of its own in pytest's summary, none of the six outcomes.
    expect(run.summary.subtests).toBe(4);
    await expectRecorded(run, plain, sessionId, { tests: 4, skipped: 0 });
    expect(sorted(await results(sessionId))).toEqual(
      sorted([
        ...subtestResults,
        { test: 'test_subtests.py::test_subtests [skips]', when: 'call', attempt: 1, outcome: 'skipped', error: 'Skipped: a subtest skipped' },
        { test: "test_subtests.py::test_subtests (clef='𝄞')", when: 'call', attempt: 1, outcome: 'xfailed', error: 'a subtest xfailed' },
      ]),
    );
  });

  it.skipIf(!debianPytest)('(b) pytest 7.2 with xdist (-n 2) and rerunfailures (--reruns 1): one session, last attempts counted', async () => {
    const sessionId = 'pytest7-xdist-reruns';
    const env = {
      PYTHONPATH: PLUGIN_SOURCE,
      MCP_PYTEST_URL: url,
      MCP_PYTEST_TOKEN: key,
      MCP_PYTEST_SESSION_ID: sessionId,
      GITLAB_CI: 'true',
      CI_PIPELINE_ID: '981',
      CI_JOB_NAME: 'test:py311',
      CI_COMMIT_SHA: 'abc123',
      CI_COMMIT_REF_NAME: 'feature/x',
      CI_JOB_URL: 'https://gitlab.example/acme/shop/-/jobs/77',
    };
    const args = ['test_outcomes.py', '-n', '2', '--reruns', '1'];
    const reportLog = join(work, 'report-b.jsonl');
    const [run, plain] = await Promise.all([
      pytest(DEBIAN_PYTHON, [...args, '-p', 'mcp_pytest', '-p', 'report_log_standin', `--report-log=${reportLog}`], {
        ...env,
        PYTHONPATH: `${PLUGIN_SOURCE}:${FIXTURE_PLUGINS}`,
      }),
      pytest(DEBIAN_PYTHON, args, { PYTHONPATH: PLUGIN_SOURCE }),
    ]);
    expect(run.summary.rerun).toBeGreaterThan(0);
    const view = await expectRecorded(run, plain, sessionId);
    expect(view).toMatchObject({
      project: basename(suite),
      environment: {
        pytest: expect.stringMatching(/^7\./),
        plugins: expect.arrayContaining([expect.stringMatching(/^xdist-/), expect.stringMatching(/^rerunfailures-/)]),
      },
      ci: { provider: 'gitlab', run_id: '981', job: 'test:py311', commit: 'abc123', branch: 'feature/x', url: 'https://gitlab.example/acme/shop/-/jobs/77' },
    });
    const recorded = await results(sessionId);
    // The flaky test failed once and passed when run again: two attempts, the second one counted.
    expect(sorted(recorded.filter((r) => r.test === 'test_flaky')).map(({ attempt, outcome }) => ({ attempt, outcome }))).toEqual([
      { attempt: 1, outcome: 'failed' },
      { attempt: 2, outcome: 'passed' },
    ]);
    expect(recorded.filter((r) => r.test === 'test_setup_errors').map((r) => [r.when, r.attempt, r.outcome])).toEqual(
      expect.arrayContaining([
        ['setup', 1, 'error'],
        ['setup', 2, 'error'],
      ]),
    );
    // pytest 7.2 says "reason: " before an imperative xfail's reason; pytest 9 does not.
    expect(recorded.find((r) => r.test === 'test_xfail_imperative')).toMatchObject({ outcome: 'xfailed', error: 'reason: xfailed from inside the test' });
    expect(recorded.find((r) => r.test === 'test_ünïcödé[π]')).toMatchObject({ outcome: 'passed' });

    // The same run's report log and JUnit XML, imported: the same counts (JUnit cannot tell an xpass from a pass).
    const imported = async (kind: string, file: string) => {
      const { stdout } = await cli(['import', kind, file, '--url', url], { MCP_PYTEST_TOKEN: key });
      return (await finishedView(/^session (\S+):/.exec(stdout)![1]!)).counts;
    };
    expect(await imported('reportlog', reportLog)).toEqual(view.counts);
    expect(await imported('junit', run.junitPath)).toEqual({ ...view.counts, passed: view.counts.passed + view.counts.xpassed, xpassed: 0 });
  });

  it.skipIf(!debianVenv)('(c) installed with pip --no-build-isolation into a venv: the pytest11 entry point loads it, no -p', async () => {
    const venv = join(work, 'venv');
    const pkg = join(work, 'plugin-package'); // pip builds in the source folder: a copy keeps build/ out of the tree
    cpSync(join(root, 'clients/pytest'), pkg, { recursive: true, filter: (path) => !/__pycache__|\.egg-info|[/\\]build$/.test(path) });
    const step = (command: string, args: string[]) => {
      const done = spawnSync(command, args, { env: testEnv(), encoding: 'utf8' });
      if (done.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${done.stdout}${done.stderr}`);
    };
    step(DEBIAN_PYTHON, ['-m', 'venv', '--system-site-packages', venv]);
    step(join(venv, 'bin/python'), [
      '-m',
      'pip',
      'install',
      '--no-build-isolation',
      '--no-index',
      '--no-deps',
      '--no-cache-dir',
      '--disable-pip-version-check',
      '-q',
      pkg,
    ]);

    const python = join(venv, 'bin/python');
    const env = { MCP_PYTEST_URL: url, MCP_PYTEST_TOKEN: key };
    const [run, plain] = await Promise.all([pytest(python, ['test_outcomes.py'], env), pytest(python, ['test_outcomes.py', '-p', 'no:mcp_pytest'], env)]);
    const sessionId = /mcp-pytest: session (pytest-[0-9a-f]{32}) recorded/.exec(run.output)?.[1];
    expect(sessionId, run.output).toBeDefined();
    const view = await expectRecorded(run, plain, sessionId!);
    expect(view.environment.plugins).toContain('mcp-pytest-plugin-0.1.0');
  });
});

const pythonWithPlugin = pytest9 ? 'python3' : DEBIAN_PYTHON;
/** pytest with the plugin from the source tree, on `files` (default: test_outcomes.py). */
const recordedRun = (args: string[], env: Record<string, string>, files = ['test_outcomes.py']) =>
  pytest(pythonWithPlugin, [...files, '-p', 'mcp_pytest', ...args], { PYTHONPATH: PLUGIN_SOURCE, ...env });
/** The same files without the plugin: pytest's own account of the run. */
const plainRun = (files = ['test_outcomes.py']) => pytest(pythonWithPlugin, files, { PYTHONPATH: PLUGIN_SOURCE });

describe.skipIf(!pytest9 && !debianPytest)('the pytest plugin with --mcp-flush-interval 0: each outcome sent as soon as the thread gets to it', () => {
  // The sender thread waits without a timeout while nothing is pending: an interval of 0 must not spin
  // (it once held the GIL in a loop, and a 2,000-test suite took 91 s instead of 3). The per-test timeout
  // (60 s, vitest.config.ts) catches a run that takes minutes.
  it('against the live gateway: every outcome recorded', async () => {
    const sessionId = 'flush-interval-0';
    const [run, plain] = await Promise.all([
      recordedRun(['--mcp-url', url, '--mcp-session-id', sessionId, '--mcp-flush-interval', '0'], { MCP_PYTEST_TOKEN: key }),
      plainRun(),
    ]);
    await expectRecorded(run, plain, sessionId);
  });

  it('against a closed port: the whole session spooled', async () => {
    const sessionId = 'flush-interval-0-closed';
    const closed = `http://127.0.0.1:${await freePort()}/mcp`;
    const spool = join(work, 'flush-interval-0-closed.jsonl');
    const run = await recordedRun(['--mcp-url', closed, '--mcp-session-id', sessionId, '--mcp-flush-interval', '0', '--mcp-spool', spool], {});
    expect(run.code, run.output).toBe(1);
    const calls = expectWholeSession(spool, sessionId, closed, run);
    expect(run.said).toEqual([spoolWarning(closed, 'connection refused', calls.length, spool)]);
  });
});

describe.skipIf(!pytest9 && !debianPytest)('the pytest plugin with input it must make fit, or refuse without failing the run', () => {
  it('a CI variable that is not UTF-8, a node id of 6,000 UTF-16 units: recorded, clipped, counted', async () => {
    // Node passes a child's environment as UTF-8; a shell sets the undecodable byte, as a CI may from a branch name.
    const python = join(work, 'python-with-undecodable-branch');
    writeFileSync(python, `#!/bin/sh\nGITHUB_HEAD_REF="$(printf 'feature-\\377')"\nexport GITHUB_HEAD_REF\nexec ${pythonWithPlugin} "$@"\n`, { mode: 0o755 });
    const sessionId = 'odd-text';
    const files = ['test_outcomes.py', 'test_long_ids.py'];
    const [run, plain] = await Promise.all([
      pytest(python, [...files, '-p', 'mcp_pytest', '--mcp-url', url, '--mcp-session-id', sessionId], {
        PYTHONPATH: PLUGIN_SOURCE,
        MCP_PYTEST_TOKEN: key,
        GITHUB_ACTIONS: 'true',
        GITHUB_RUN_ID: '77',
      }),
      plainRun(files),
    ]);
    const view = await expectRecorded(run, plain, sessionId);
    // A lone surrogate (Python's stand-in for the byte) is kept as its escape: JSON cannot encode it as UTF-8.
    expect(view.ci).toMatchObject({ provider: 'github-actions', run_id: '77', branch: 'feature-\\udcff' });
    const long = (await system.probe.results(sessionId, 'ci')).find((r) => r.nodeid.startsWith('test_long_ids.py::'))!;
    expect(long.outcome).toBe('passed');
    expect(long.nodeid.length).toBeLessThanOrEqual(4096); // JavaScript's length: UTF-16 units, as the server counts
    expect(long.nodeid).toMatch(/^test_long_ids\.py::test_long_astral_id\[(𝄞)+…(𝄞)+\]$/u);
    expect(long.location?.domain?.length).toBeLessThanOrEqual(4096);
  });

  it('a malformed MCP_PYTEST_* variable: one line, nothing recorded, the run as without the plugin; a malformed flag: a usage error', async () => {
    const [run, plain] = await Promise.all([recordedRun([], { MCP_PYTEST_URL: '127.0.0.1:3000/mcp', MCP_PYTEST_TOKEN: key }), plainRun()]);
    expect(run.code, run.output).toBe(plain.code);
    expect(run.summary).toEqual(plain.summary);
    expect(run.said).toEqual([
      "mcp-pytest: MCP_PYTEST_URL must be an http(s) URL such as http://127.0.0.1:3000/mcp, not '127.0.0.1:3000/mcp'; not recording this run",
    ]);
    const batch = await recordedRun([], { MCP_PYTEST_URL: url, MCP_PYTEST_TOKEN: key, MCP_PYTEST_BATCH_SIZE: '0', MCP_PYTEST_SESSION_ID: 'bad-batch-size' });
    expect(batch.code, batch.output).toBe(plain.code);
    expect(batch.said).toEqual(["mcp-pytest: MCP_PYTEST_BATCH_SIZE must be a number from 1 to 1000, not '0'; not recording this run"]);
    expect((await ci.refusal('get_session', { session_id: 'bad-batch-size' })).code).toBe('SESSION_NOT_FOUND');

    const flag = spawnSync(
      pythonWithPlugin,
      ['-m', 'pytest', '-p', 'no:cacheprovider', 'test_outcomes.py', '-p', 'mcp_pytest', '--mcp-url', '127.0.0.1:3000/mcp'],
      {
        cwd: suite,
        env: testEnv({ PYTHONPATH: PLUGIN_SOURCE, PYTHONDONTWRITEBYTECODE: '1' }),
        encoding: 'utf8',
      },
    );
    expect(flag.status).toBe(4);
    expect(flag.stderr).toContain("mcp-pytest: --mcp-url must be an http(s) URL such as http://127.0.0.1:3000/mcp, not '127.0.0.1:3000/mcp'");
  });
});

const spoolWarning = (target: string, reason: string, calls: number, path: string) =>
  `mcp-pytest: could not record to ${target} (${reason}); ${calls} calls spooled to ${path} — send them later with: npx mcp-pytest upload ${path}`;

describe.skipIf(!pytest9 && !debianPytest)('the pytest plugin when the server cannot take the session', () => {
  const send = (call: SpoolLine) => ci.ok(call.tool, call.arguments);

  it('refused (a wrong key, a session id reused with other content): one warning line, the spool kept, exit status untouched', async () => {
    const wrongKeySpool = join(work, 'wrong-key.jsonl');
    const wrongKey = await recordedRun(['--mcp-url', url, '--mcp-session-id', 'wrong-key', '--mcp-spool', wrongKeySpool], { MCP_PYTEST_TOKEN: `${key}x` });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.said).toHaveLength(1);
    expect(wrongKey.said[0]).toMatch(/^mcp-pytest: could not record to \S+ \(initialize: HTTP 401: .*\); 3 calls spooled to \S+wrong-key\.jsonl — /);
    // The spool's lines are the tools' own arguments: any MCP client can send them as they are, twice if it likes.
    const calls = expectWholeSession(wrongKeySpool, 'wrong-key', url, wrongKey);
    for (const call of calls) await send(call);
    const view = await finishedView('wrong-key');
    expect(view).toMatchObject({ counts: wrongKey.counts, exitstatus: 1, summary_matches: true });
    const again = await Promise.all(calls.map(send));
    expect(again.every((answer) => answer.duplicate === true)).toBe(true);

    await ci.ok('record_session_start', { session_id: 'taken', environment: { os: 'Linux', python_version: '3.11' } });
    const spool = join(work, 'taken.jsonl');
    const conflict = await recordedRun(['--mcp-url', url, '--mcp-session-id', 'taken', '--mcp-spool', spool], { MCP_PYTEST_TOKEN: key });
    expect(conflict.code).toBe(1);
    expect(conflict.said).toHaveLength(1);
    expect(conflict.said[0]).toMatch(/^mcp-pytest: could not record to \S+ \(record_session_start refused: \[SESSION_ID_CONFLICT\] .*\); 3 calls spooled to /);
    expectWholeSession(spool, 'taken', url, conflict);
    expect((await ci.ok('get_session', { session_id: 'taken' })).counts.total).toBe(0);
  });

  it('accepting connections and never answering (blackholed): one warning line, the spool kept, exit status untouched', async () => {
    const sockets = new Set<Socket>();
    const blackhole = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    try {
      const target = `http://127.0.0.1:${(blackhole.address() as AddressInfo).port}/mcp`;
      const spool = join(work, 'blackholed.jsonl');
      const run = await recordedRun(['--mcp-url', target, '--mcp-session-id', 'blackholed', '--mcp-spool', spool], { MCP_PYTEST_TOKEN: key });
      expect(run.code, run.output).toBe(1);
      expect(sockets.size).toBeGreaterThan(0); // it did connect
      const calls = expectWholeSession(spool, 'blackholed', target, run);
      // Whichever bound ends the wait first: a call's 5 s, or the end of the run's --mcp-timeout (3 s).
      expect(run.said).toHaveLength(1);
      expect(run.said[0]).toMatch(/^mcp-pytest: could not record to \S+ \(no answer within \d+ s( at the end of the run)?\); (\d+) calls spooled to /);
      expect(run.said[0]).toContain(`; ${calls.length} calls spooled to ${spool} — `);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => blackhole.close(resolve));
    }
  });

  describe('(d) the server unreachable (a closed port)', () => {
    let run: PytestRun;
    let spool: string;
    const sessionId = 'unreachable-1';
    let closed: string;

    beforeAll(async () => {
      closed = `http://127.0.0.1:${await freePort()}/mcp`;
      run = await recordedRun(['--mcp-batch-size', '5'], { MCP_PYTEST_URL: closed, MCP_PYTEST_TOKEN: key, MCP_PYTEST_SESSION_ID: sessionId });
      spool = join(suite, '.mcp-pytest', `spool-${sessionId}.jsonl`); // the default: under pytest's rootdir
    });

    it("keeps pytest's exit status, says so in one line, and spools the whole session in batches of --mcp-batch-size", async () => {
      expect(run.code, run.output).toBe(1);
      const calls = expectWholeSession(spool, sessionId, closed, run);
      expect(run.said).toEqual([spoolWarning(closed, 'connection refused', calls.length, spool)]);
      expect(calls.slice(1, -1).map((c) => c.arguments.outcomes!.length)).toEqual([5, 5, 5, 2]);
    });

    it('uploading the spool records the session; uploading it again changes nothing', async () => {
      await cli(['upload', spool, '--url', url, '--token', key]);
      const view = await finishedView(sessionId);
      expect(view).toMatchObject({ counts: run.counts, exitstatus: run.code, summary_matches: true });
      await cli(['upload', spool, '--url', url, '--token', key]);
      expect(await ci.ok('get_session', { session_id: sessionId })).toMatchObject({ counts: view.counts, last_seq: view.last_seq });
    });
  });

  describe('(e) the gateway killed during the run', () => {
    let run: PytestRun;
    const sessionId = 'killed-mid-run';
    const spool = () => join(work, 'killed.jsonl');

    beforeAll(async () => {
      // test_stop_server.py SIGKILLs the gateway a second into the run; outcomes are sent as they come until then.
      const args = ['--mcp-url', url, '--mcp-session-id', sessionId, '--mcp-flush-interval', '0', '--mcp-spool', spool()];
      const env = { MCP_PYTEST_TOKEN: key, MCP_PYTEST_FIXTURE_KILL_PID: String(system.gateway.pid) };
      run = await recordedRun(args, env, ['test_outcomes.py', 'test_stop_server.py']);
      await system.gateway.restart();
      // The restarted gateway knows no MCP session of before: this suite's reader connects again.
      await ci.close();
      ci = await McpTestClient.http(system.gateway.mcpUrl, { key });
    });

    it("keeps pytest's exit status and spools the whole session, what reached the server before included", async () => {
      expect(run.code, run.output).toBe(1);
      expect(run.summary.passed).toBe(7); // test_stop_server.py's test ran (and passed) too
      expect(run.said).toHaveLength(1);
      expect(run.said[0]).toMatch(/^mcp-pytest: could not record to \S+ \((connection refused|connection lost .*)\); \d+ calls spooled to /);
      expectWholeSession(spool(), sessionId, url, run);
      // What had reached the server stays recorded; the session is not finished.
      const partial = await eventually<Record<string, any>>(() => ci.ok('get_session', { session_id: sessionId }), 10_000, 'the partial session');
      expect(partial.status).toBe('running');
    });

    it('uploading the spool completes the session, each outcome counted once', async () => {
      await cli(['upload', spool(), '--url', url, '--token', key]); // a key goes only to a URL the user names
      const view = await finishedView(sessionId);
      expect(view).toMatchObject({ counts: run.counts, exitstatus: run.code, summary_matches: true });
      await cli(['upload', spool(), '--url', url, '--token', key]);
      expect(await ci.ok('get_session', { session_id: sessionId })).toMatchObject({ counts: view.counts, last_seq: view.last_seq });
    });
  });
});
