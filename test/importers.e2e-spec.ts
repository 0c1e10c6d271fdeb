import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from './harness/apps.js';
import { McpTestClient } from './harness/mcp-client.js';
import { cliProcess, cliRun, PolicyFiles, type CliRun } from './harness/policy-files.js';
import { eventually, freePort, sleep, testEnv } from './harness/processes.js';
import { summaryCounts } from './harness/pytest-run.js';
import { System } from './harness/system.js';

/** A JUnit XML file as pytest writes it with xunit1: 7 outcomes of 6 cases (one passed call with a teardown error). */
const JUNIT = `<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="pytest" errors="2" failures="1" skipped="2" tests="6" time="1.25" hostname="ci-7">
<testcase classname="tests.test_a" name="test_pass" file="tests/test_a.py" line="11" time="0.250" />
<testcase classname="tests.test_a" name="test_fail" file="tests/test_a.py" line="12" time="0.001"><failure message="AssertionError: one is not two">E   AssertionError: one is not two</failure></testcase>
<testcase classname="tests.test_a" name="test_skip" file="tests/test_a.py" line="13" time="0.000"><skipped type="pytest.skip" message="not today">tests/test_a.py:14: not today</skipped></testcase>
<testcase classname="tests.test_a" name="test_xfail" file="tests/test_a.py" line="14" time="0.000"><skipped type="pytest.xfail" message="known bug" /></testcase>
<testcase classname="tests.test_a" name="test_setup_error" file="tests/test_a.py" line="20" time="0.002"><error message="failed on setup with &quot;RuntimeError: boom&quot;">E RuntimeError: boom</error></testcase>
<testcase classname="tests.test_a" name="test_teardown_error" file="tests/test_a.py" line="21" time="0.003"><error message="failed on teardown with &quot;RuntimeError: late&quot;">E RuntimeError: late</error></testcase>
</testsuite></testsuites>
`;

const START = { pytest_version: '9.0.3', $report_type: 'SessionStart' };
const FINISH = (exitstatus: number) => ({ exitstatus, $report_type: 'SessionFinish' });
const report = (nodeid: string, when: string, outcome: string, start: number, extra: object = {}) => ({
  nodeid,
  location: [nodeid.split('::')[0], 3, nodeid.split('::')[1]],
  keywords: {},
  outcome,
  longrepr: outcome === 'passed' ? null : `E   ${nodeid} ${when} ${outcome}`,
  when,
  user_properties: [],
  sections: [],
  duration: 0.125,
  start,
  stop: start + 0.125,
  $report_type: 'TestReport',
  ...extra,
});
/** The three reports of one test, its call with `outcome`. */
const reports = (nodeid: string, outcome: string, start: number, extra: object = {}) => [
  report(nodeid, 'setup', 'passed', start),
  report(nodeid, 'call', outcome, start + 1, extra),
  report(nodeid, 'teardown', 'passed', start + 2),
];
const jsonl = (records: object[]) => records.map((record) => `${JSON.stringify(record)}\n`).join('');

const sha32 = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);

describe('mcp-pytest import and upload: files sent through the gateway with a key, like any MCP caller', () => {
  const files = PolicyFiles.create({ version: '1', default: 'allow' });
  const dir = mkdtempSync(join(tmpdir(), 'mcp-pytest-importers-'));
  let system: System;
  let ciKey: string;
  let ci: McpTestClient;
  let other: McpTestClient;

  beforeAll(async () => {
    ciKey = await files.addKey('ci-runner-1', 'ci');
    const otherKey = await files.addKey('agent-7', 'agents');
    system = await System.start({ env: { KEYS_FILE: files.keys, POLICY_FILE: files.policy } });
    [ci, other] = await Promise.all([McpTestClient.http(system.gateway.mcpUrl, { key: ciKey }), McpTestClient.http(system.gateway.mcpUrl, { key: otherKey })]);
  });
  afterAll(async () => {
    await Promise.all([ci?.close(), other?.close()]);
    await system?.stop();
    files.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The gateway and ci's key, as a user's environment gives them. */
  const env = (extra: Record<string, string> = {}) => ({ MCP_PYTEST_URL: system.gateway.mcpUrl.href, MCP_PYTEST_TOKEN: ciKey, ...extra });

  const mcpPytest = (args: string[], extra: Record<string, string | undefined> = env()): Promise<CliRun> => cliRun(args, { env: extra, cwd: dir });

  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  /** ci's view of a session once it is finished (the CLI wrote on its own connection: the view may lag a little). */
  const finishedView = (session_id: string) =>
    eventually(
      async () => {
        const view = await ci.ok('get_session', { session_id });
        return view.status === 'finished' && view;
      },
      20_000,
      `session ${session_id} finished`,
    );

  it('imports a JUnit file as one finished session; importing it again changes nothing and says so', async () => {
    const file = write('junit.xml', JUNIT);
    const id = `junit-${sha32(JUNIT)}`;
    const first = await mcpPytest(['import', 'junit', 'junit.xml']);
    expect(first).toEqual({ code: 0, stdout: `session ${id}: 7 outcomes (7 recorded, 0 already recorded), finished\n`, stderr: '' });
    const view = await finishedView(id);
    expect(view).toMatchObject({
      owner: 'ci',
      labels: { source: 'junit' },
      environment: { os: 'unknown', python_version: 'unknown', hostname: 'ci-7' },
      counts: { passed: 2, failed: 1, skipped: 1, error: 2, xfailed: 1, xpassed: 0, total: 7 },
      summary: { total_tests: 7, exitstatus: 1, duration: 1.25 },
      summary_matches: true,
    });
    expect(view.failures.map((f: { nodeid: string; when: string }) => `${f.nodeid} ${f.when}`)).toEqual([
      'tests/test_a.py::test_fail call',
      'tests/test_a.py::test_setup_error setup',
      'tests/test_a.py::test_teardown_error teardown',
    ]);

    const events = await system.probe.eventCount();
    const again = await mcpPytest(['import', 'junit', file]);
    expect(again).toEqual({ code: 0, stdout: `session ${id}: 7 outcomes (0 recorded, 7 already recorded), finished\n`, stderr: '' });
    expect(await system.probe.eventCount()).toBe(events);
    expect(await ci.ok('get_session', { session_id: id })).toMatchObject({ last_seq: view.last_seq, counts: view.counts });
  });

  it('refuses a malformed file naming its line and column, and sends nothing of it, nor of the good file beside it', async () => {
    const good = write('good.xml', JUNIT.replace('ci-7', 'ci-8'));
    const broken = JUNIT.replace('<testcase classname="tests.test_a" name="test_skip"', '<testcase classname="tests.test_a" name="test_skip" name="again"');
    write('broken.xml', broken);
    const events = await system.probe.eventCount();
    const run = await mcpPytest(['import', 'junit', good, 'broken.xml']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^mcp-pytest import: broken\.xml: line 5, column \d+: duplicate attribute: name\.?\n$/);
    expect(run.stdout).toBe('');
    expect(await system.probe.eventCount()).toBe(events);
    for (const text of [broken, JUNIT.replace('ci-7', 'ci-8')]) {
      expect((await ci.refusal('get_session', { session_id: `junit-${sha32(text)}` })).code).toBe('SESSION_NOT_FOUND');
    }
  });

  it('imports a report log with a rerun; again it changes nothing', async () => {
    const text = jsonl([
      START,
      { nodeid: 'tests/test_b.py', outcome: 'passed', longrepr: null, result: [], sections: [], $report_type: 'CollectReport' },
      ...reports('tests/test_b.py::test_one', 'passed', 100),
      report('tests/test_b.py::test_flaky', 'setup', 'passed', 110),
      report('tests/test_b.py::test_flaky', 'call', 'rerun', 111),
      ...reports('tests/test_b.py::test_flaky', 'passed', 112),
      ...reports('tests/test_b.py::test_xfail', 'skipped', 120, { wasxfail: 'known' }),
      FINISH(0),
    ]);
    const file = write('report.jsonl', text);
    const id = `reportlog-${sha32(`${resolve(file)}\n${JSON.stringify(START)}\n${JSON.stringify(report('tests/test_b.py::test_one', 'setup', 'passed', 100))}`)}`;
    expect(await mcpPytest(['import', 'reportlog', 'report.jsonl', '--project', 'shop'])).toEqual({
      code: 0,
      stdout: `session ${id}: 4 outcomes (4 recorded, 0 already recorded), finished\n`,
      stderr: '',
    });
    expect(await finishedView(id)).toMatchObject({
      project: 'shop',
      environment: { os: 'unknown', python_version: 'unknown', pytest: '9.0.3' },
      counts: { passed: 2, failed: 0, xfailed: 1, total: 3 },
      reruns: 1,
      summary_matches: true,
      exitstatus: 0,
    });
    expect((await mcpPytest(['import', 'reportlog', file, '--project', 'shop'])).stdout).toBe(
      `session ${id}: 4 outcomes (0 recorded, 4 already recorded), finished\n`,
    );
  });

  it('refuses a report log with a bad line, naming the line, and sends nothing', async () => {
    write('bad.jsonl', jsonl([START, ...reports('t.py::a', 'passed', 1)]) + '{"nodeid": "t.py::b", "$report_type": "TestReport"\n');
    const events = await system.probe.eventCount();
    const run = await mcpPytest(['import', 'reportlog', 'bad.jsonl', '--session-id', 'bad-log']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^mcp-pytest import: bad\.jsonl: line 5: not JSON: .*\n$/);
    expect(await system.probe.eventCount()).toBe(events);
    expect((await ci.refusal('get_session', { session_id: 'bad-log' })).code).toBe('SESSION_NOT_FOUND');
  });

  it('follows a report log as pytest writes it: outcomes are sent as they come, the SessionFinish ends it', async () => {
    const file = join(dir, 'live.jsonl');
    const follow = cliProcess(['import', 'reportlog', file, '--follow', '--session-id', 'live-run'], env());
    try {
      await follow.waitFor(/waiting for .*live\.jsonl to appear/);
      writeFileSync(file, jsonl([START, ...reports('t.py::one', 'passed', 1), ...reports('t.py::two', 'failed', 5)]));
      const running = await eventually(
        async () => {
          const view = await ci.ok('get_session', { session_id: 'live-run' });
          return view.counts.total === 2 && view;
        },
        20_000,
        'the first outcomes of the followed log',
      );
      expect(running.status).toBe('running');
      expect(follow.running).toBe(true);

      // A record written in two pieces is read once its line is complete.
      const three = JSON.stringify(report('t.py::three', 'call', 'passed', 9));
      appendFileSync(file, three.slice(0, 40));
      await sleep(500);
      appendFileSync(file, `${three.slice(40)}\n`);
      await eventually(async () => (await ci.ok('get_session', { session_id: 'live-run' })).counts.total === 3, 20_000, 'the third outcome');
      appendFileSync(file, jsonl([FINISH(1)]));
      expect(await follow.finished()).toBe(0);
      expect(follow.logs).toContain('session live-run: 3 outcomes (3 recorded, 0 already recorded), finished\n');
      expect(await finishedView('live-run')).toMatchObject({ counts: { passed: 2, failed: 1, total: 3 }, exitstatus: 1, summary_matches: true });
    } finally {
      await follow.kill();
    }
  });

  it('leaves a followed session running on Ctrl-C, and says so', async () => {
    const file = write('stopped.jsonl', jsonl([START, ...reports('t.py::one', 'passed', 1)]));
    const follow = cliProcess(['import', 'reportlog', file, '--follow', '--session-id', 'stopped-run'], env());
    try {
      await eventually(async () => (await ci.ok('get_session', { session_id: 'stopped-run' })).counts.total === 1, 20_000, 'the outcome');
      expect(await follow.stop('SIGINT')).toBe(1);
      expect(follow.logs).toMatch(/stopped before .*stopped\.jsonl's SessionFinish record: session stopped-run is left running with 1 outcomes\n/);
    } finally {
      await follow.kill();
    }
  });

  /** A spool as the pytest plugin writes it: header, start, outcomes in calls of `perCall`, finish. */
  const spoolOf = (url: string, session_id: string, outcomes: Array<{ nodeid: string; outcome: string; duration: number }>, perCall = 1000) => {
    const failed = outcomes.filter((o) => o.outcome === 'failed').length;
    return jsonl([
      { mcp_pytest_spool: 1, url, session_id },
      { tool: 'record_session_start', arguments: { session_id, environment: { os: 'Linux', python_version: '3.12.3' }, labels: { via: 'spool' } } },
      ...Array.from({ length: Math.ceil(outcomes.length / perCall) }, (_, i) => ({
        tool: 'record_test_outcomes',
        arguments: { session_id, outcomes: outcomes.slice(i * perCall, (i + 1) * perCall) },
      })),
      {
        tool: 'record_session_finish',
        arguments: { session_id, summary: { total_tests: outcomes.length, passed: outcomes.length - failed, failed, skipped: 0, exitstatus: failed ? 1 : 0 } },
      },
    ]);
  };

  it('uploads a spool to the gateway the user names, in order; a second upload changes nothing', async () => {
    const session_id = 'spooled-1';
    const outcomes = Array.from({ length: 1500 }, (_, i) => ({
      nodeid: `tests/test_many.py::test_${i}`,
      outcome: i % 100 ? 'passed' : 'failed',
      duration: 0.001,
    }));
    write('spool.jsonl', spoolOf(system.gateway.mcpUrl.href, session_id, outcomes));
    expect(await mcpPytest(['upload', 'spool.jsonl'])).toEqual({
      code: 0,
      stdout: `session ${session_id}: 1500 outcomes (1500 recorded, 0 already recorded), finished\n`,
      stderr: '',
    });
    expect(await finishedView(session_id)).toMatchObject({
      labels: { via: 'spool' },
      counts: { passed: 1485, failed: 15, total: 1500 },
      summary_matches: true,
    });
    const events = await system.probe.eventCount();
    const flagsOnly = ['--url', system.gateway.mcpUrl.href, '--token', ciKey];
    expect((await mcpPytest(['upload', 'spool.jsonl', ...flagsOnly], { MCP_PYTEST_URL: undefined, MCP_PYTEST_TOKEN: undefined })).stdout).toBe(
      `session ${session_id}: 1500 outcomes (0 recorded, 1500 already recorded), finished\n`,
    );
    expect(await system.probe.eventCount()).toBe(events);
  });

  it("never sends the key to the URL a spool names: with a key and no URL of the user's it refuses; without a key it goes there", async () => {
    // A spool is a CI artifact: whoever can change the job can write it, and name a listener of their own.
    const received: IncomingHttpHeaders[] = [];
    const listener = createServer((request, response) => {
      received.push(request.headers);
      request.resume();
      response.writeHead(404).end();
    });
    await new Promise<void>((listening) => listener.listen(0, '127.0.0.1', listening));
    const url = `http://127.0.0.1:${(listener.address() as { port: number }).port}/mcp`;
    try {
      write('planted.jsonl', spoolOf(url, 'planted', [{ nodeid: 't.py::a', outcome: 'passed', duration: 0 }]));
      expect(await mcpPytest(['upload', 'planted.jsonl'], { MCP_PYTEST_TOKEN: ciKey })).toEqual({
        code: 1,
        stdout: '',
        stderr: `mcp-pytest upload: a key is sent only to a URL you configured: give --url or MCP_PYTEST_URL; the spool planted.jsonl names "${url}", a URL its writer chose\n`,
      });
      expect((await mcpPytest(['upload', 'planted.jsonl', '--token', ciKey], {})).code).toBe(1);
      expect(received).toEqual([]);

      // Without a key nothing secret goes out: the spool's own URL is used.
      const keyless = await mcpPytest(['upload', 'planted.jsonl'], {});
      expect(keyless).toMatchObject({ code: 1, stderr: expect.stringContaining(`the gateway at ${url} answered HTTP 404`) });
      expect(received.length).toBeGreaterThan(0);
      expect(received.map((headers) => headers.authorization)).toEqual(received.map(() => undefined));
    } finally {
      listener.closeAllConnections();
      await new Promise((closed) => listener.close(closed));
    }
  });

  it("keeps an imported session the importing key's grant's: another grant's key does not find it", async () => {
    const id = `junit-${sha32(JUNIT)}`;
    await finishedView(id);
    expect((await other.refusal('get_session', { session_id: id })).code).toBe('SESSION_NOT_FOUND');
    expect((await other.refusal('get_session', { session_id: id, owner: 'ci' })).code).toBe('SESSION_ACCESS_DENIED');
  });

  it('names what is wrong: no key, another gateway, a bad command line', async () => {
    write('one.xml', JUNIT);
    const nothingThere = `http://127.0.0.1:${await freePort()}/mcp`;
    const [noKey, nowhere, twoWithId, noFile, unknown] = await Promise.all([
      mcpPytest(['import', 'junit', 'one.xml'], { MCP_PYTEST_URL: system.gateway.mcpUrl.href }),
      mcpPytest(['import', 'junit', 'one.xml', '--url', nothingThere]),
      mcpPytest(['import', 'junit', 'one.xml', 'one.xml', '--session-id', 'x']),
      mcpPytest(['import', 'reportlog']),
      mcpPytest(['import', 'csv', 'x']),
    ]);
    expect(noKey).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(
        /^mcp-pytest import: the gateway at .* answered HTTP 401: Unauthorized: missing bearer key.*\(give a key with --token or MCP_PYTEST_TOKEN\)\n$/,
      ),
    });
    expect(nowhere).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(new RegExp(`^mcp-pytest import: cannot reach the gateway at ${nothingThere}: .*ECONNREFUSED`)),
    });
    expect(twoWithId).toMatchObject({
      code: 2,
      stderr: 'mcp-pytest import: --session-id names one session: give it with one file (see mcp-pytest import --help)\n',
    });
    expect(noFile).toMatchObject({ code: 2, stderr: expect.stringContaining("missing required argument 'FILE.jsonl'") });
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining("mcp-pytest import: unknown command 'csv'") });
  });
});

describe('import --follow through a gateway that closes idle MCP sessions', () => {
  let system: System;
  let client: McpTestClient;
  const dir = mkdtempSync(join(tmpdir(), 'mcp-pytest-idle-'));

  beforeAll(async () => {
    // 0.02 minutes: the gateway closes an MCP session unused for 1.2 s (as it would one unused for 30 minutes).
    system = await System.start({ env: { MCP_SESSION_IDLE_MINUTES: '0.02' } });
    client = await McpTestClient.http(system.gateway.mcpUrl);
  });
  afterAll(async () => {
    await client?.close();
    await system?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens a new MCP session when a long test left the old one idle, and goes on', async () => {
    const file = join(dir, 'slow.jsonl');
    writeFileSync(file, jsonl([START, ...reports('t.py::quick', 'passed', 1)]));
    const follow = cliProcess(['import', 'reportlog', file, '--follow', '--session-id', 'slow-run'], { MCP_PYTEST_URL: system.gateway.mcpUrl.href });
    try {
      const outcomes = async () => (await client.ok('get_session', { session_id: 'slow-run' })).counts.total;
      await eventually(async () => (await outcomes()) === 1, 20_000, 'the first outcome');
      await sleep(4000);
      appendFileSync(file, jsonl([...reports('t.py::slow', 'passed', 10), FINISH(0)]));
      expect(await follow.finished()).toBe(0);
      expect(follow.logs).toContain('session slow-run: 2 outcomes (2 recorded, 0 already recorded), finished\n');
    } finally {
      await follow.kill();
    }
  });
});

/** pytest on this machine, for the run below; without it that test is skipped (and says so). */
const hasPytest = (() => {
  try {
    execFileSync('python3', ['-m', 'pytest', '--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const SUITE = `
import pytest

@pytest.fixture
def broken_setup():
    raise RuntimeError("setup boom")

@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown boom")

def test_pass(): pass
def test_fail(): assert 1 == 2
def test_skip(): pytest.skip("not today")
@pytest.mark.xfail(reason="known bug")
def test_xfail(): assert False
@pytest.mark.xfail(reason="fixed?")
def test_xpass(): pass
def test_setup_error(broken_setup): pass
def test_teardown_error(broken_teardown): pass
@pytest.mark.parametrize("n", [1, 2, 3])
def test_param(n): assert n < 3

class TestGroup:
    def test_in_class(self): pass
`;

describe.skipIf(!hasPytest)('a real pytest run, imported from its JUnit XML and its report log', () => {
  let system: System;
  let client: McpTestClient;
  const suite = mkdtempSync(join(tmpdir(), 'mcp-pytest-real-suite-'));

  beforeAll(async () => {
    system = await System.start();
    client = await McpTestClient.http(system.gateway.mcpUrl);
  });
  afterAll(async () => {
    await client?.close();
    await system?.stop();
    rmSync(suite, { recursive: true, force: true });
  });

  it("gives pytest's own counts (the JUnit XML cannot tell an xpass from a pass)", async () => {
    mkdirSync(join(suite, 'tests'));
    writeFileSync(join(suite, 'tests', 'test_suite.py'), SUITE);
    writeFileSync(join(suite, 'tests', 'test_broken.py'), 'import no_such_module_here\n');
    const pytest = await new Promise<string>((done) =>
      execFile(
        'python3',
        [
          '-m',
          'pytest',
          '-p',
          'no:cacheprovider',
          '-p',
          'report_log_standin',
          '--continue-on-collection-errors',
          '--junitxml=junit.xml',
          '--report-log=report.jsonl',
        ],
        // pytest-reportlog cannot be installed here: its stand-in writes the same records.
        { cwd: suite, env: testEnv({ PYTHONPATH: join(root, 'test/fixtures/pytest-plugins') }) },
        (_, stdout) => done(stdout),
      ),
    );
    const expected = summaryCounts(pytest).counts;
    expect(expected).toEqual({ passed: 5, failed: 2, skipped: 1, error: 3, xfailed: 1, xpassed: 1, total: 13 });

    const cli = (args: string[]) => cliRun(args, { env: { MCP_PYTEST_URL: system.gateway.mcpUrl.href }, cwd: suite });
    const sessionOf = (run: CliRun) => run.stdout.match(/^session (\S+):/)?.[1];
    const [junit, reportlog] = [await cli(['import', 'junit', 'junit.xml']), await cli(['import', 'reportlog', 'report.jsonl'])];
    expect([junit.code, junit.stderr, reportlog.code, reportlog.stderr]).toEqual([0, '', 0, '']);
    const countsOf = (session_id: string) =>
      eventually(
        async () => {
          const view = await client.ok('get_session', { session_id });
          return view.status === 'finished' && view.counts;
        },
        20_000,
        session_id,
      );
    expect(await countsOf(sessionOf(reportlog)!)).toEqual(expected);
    expect(await countsOf(sessionOf(junit)!)).toEqual({ ...expected, passed: expected.passed + expected.xpassed, xpassed: 0 });
  });
});
