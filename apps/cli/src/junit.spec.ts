import { describe, expect, it } from 'vitest';
import { LIMITS } from '#contracts';
import { clipUtf8 } from '#domain';
import { EXCERPT_CHARS } from './cli.js';
import { junitNodeId, parseJunit } from './junit.js';

/** What pytest 9 writes with -o junit_family=xunit1 (trimmed): file and line on every case. */
const PYTEST_XUNIT1 = `<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="pytest" errors="2" failures="1" skipped="2" tests="7" time="0.064" timestamp="2026-12-01T07:57:44+00:00" hostname="ci-7">
<testcase classname="tests.test_a" name="test_pass" file="tests/test_a.py" line="11" time="0.250" />
<testcase classname="tests.test_a" name="test_fail" file="tests/test_a.py" line="12" time="0.001"><failure message="AssertionError: one is not two&#10;assert 1 == 2">&gt;   def test_fail(): assert 1 == 2
E   AssertionError: one is not two

tests/test_a.py:13: AssertionError</failure></testcase>
<testcase classname="tests.test_a" name="test_skip" file="tests/test_a.py" line="13" time="0.000"><skipped type="pytest.skip" message="not today">/src/tests/test_a.py:14: not today</skipped></testcase>
<testcase classname="tests.test_a" name="test_xfail" file="tests/test_a.py" line="14" time="0.000"><skipped type="pytest.xfail" message="known bug" /></testcase>
<testcase classname="tests.test_a" name="test_setup_error" file="tests/test_a.py" line="20" time="0.002"><error message="failed on setup with &quot;RuntimeError: setup boom&quot;">E RuntimeError: setup boom</error></testcase>
<testcase classname="tests.test_a" name="test_teardown_error" file="tests/test_a.py" line="21" time="0.003"><error message="failed on teardown with &quot;RuntimeError: teardown boom&quot;">E RuntimeError: teardown boom</error></testcase>
<testcase classname="tests.test_a.TestGroup.TestNested" name="test_deep[1-a]" file="tests/test_a.py" line="28" time="0.000" />
</testsuite></testsuites>`;

/** The same shapes as pytest's default xunit2 writes them: no file or line. */
const PYTEST_XUNIT2 = `<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="0" skipped="1" tests="4" time="1.5" hostname="vm">
<testcase classname="" name="tests.test_broken" time="0.000"><error message="collection failure">ImportError while importing test module</error></testcase>
<testcase classname="" name="tests.test_skipmod" time="0.000"><skipped message="collection skipped">('/src/tests/test_skipmod.py', 2, 'Skipped: whole module')</skipped></testcase>
<testcase classname="tests.unit.test_api" name="test_login[admin]" time="0.010" />
<testcase classname="tests.unit.api_test.TestUsers" name="test_list" time="0.020" />
</testsuite></testsuites>`;

/** Maven Surefire: one suite as the root, Java system properties, a skip without a message, an unexpected exception. */
const SUREFIRE = `<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" name="com.acme.FooTest" time="0.212" tests="4" errors="1" skipped="1" failures="1">
  <properties>
    <property name="os.name" value="Linux"/>
    <property name="java.version" value="21.0.2"/>
  </properties>
  <testcase name="testAdds" classname="com.acme.FooTest" time="0.005"/>
  <testcase name="testDivides" classname="com.acme.FooTest" time="0.010">
    <failure message="expected:&lt;2&gt; but was:&lt;3&gt;" type="org.opentest4j.AssertionFailedError"><![CDATA[org.opentest4j.AssertionFailedError: expected: <2> but was: <3>
	at com.acme.FooTest.testDivides(FooTest.java:21)]]></failure>
    <system-out><![CDATA[lots of log output]]></system-out>
  </testcase>
  <testcase name="testLater" classname="com.acme.FooTest" time="0"><skipped/></testcase>
  <testcase name="testNull" classname="com.acme.FooTest" time="0.001"><error type="java.lang.NullPointerException">java.lang.NullPointerException
	at com.acme.FooTest.testNull(FooTest.java:30)</error></testcase>
</testsuite>`;

/** Jest (jest-junit) and Go (go-junit-report) style: nested suites, cases without a classname, repeated names. */
const NESTED = `<testsuites name="jest tests" tests="4" failures="0" time="2.5">
  <testsuite name="src/math.test.js" tests="2" time="1.0">
    <testsuite name="inner">
      <testcase name="adds" time="0.1"/>
      <testcase name="adds" time="0.2"/>
    </testsuite>
  </testsuite>
  <testsuite name="github.com/acme/pkg" time="1.5">
    <properties><property name="go.version" value="go1.22"/></properties>
    <testcase classname="github.com/acme/pkg" name="TestParse" time="0.010"></testcase>
    <testcase classname="github.com/acme/pkg" name="TestSkip" time="0.000"><skipped message="short mode"></skipped></testcase>
  </testsuite>
</testsuites>`;

const brief = (xml: string) => parseJunit(xml).outcomes.map(({ nodeid, outcome, when }) => [nodeid, outcome, when ?? 'call']);

describe('JUnit XML import', () => {
  it('reads pytest xunit1: node ids from file and classname, setup and teardown errors as those phases, xfail', () => {
    const run = parseJunit(PYTEST_XUNIT1);
    expect(brief(PYTEST_XUNIT1)).toEqual([
      ['tests/test_a.py::test_pass', 'passed', 'call'],
      ['tests/test_a.py::test_fail', 'failed', 'call'],
      ['tests/test_a.py::test_skip', 'skipped', 'call'],
      ['tests/test_a.py::test_xfail', 'xfailed', 'call'],
      ['tests/test_a.py::test_setup_error', 'error', 'setup'],
      // A teardown error after a passed call: pytest counts both.
      ['tests/test_a.py::test_teardown_error', 'passed', 'call'],
      ['tests/test_a.py::test_teardown_error', 'error', 'teardown'],
      ['tests/test_a.py::TestGroup::TestNested::test_deep[1-a]', 'passed', 'call'],
    ]);
    expect(run.outcomes[0]).toEqual({
      nodeid: 'tests/test_a.py::test_pass',
      outcome: 'passed',
      duration: 0.25,
      location: { path: 'tests/test_a.py', lineno: 11 },
    });
    expect(run.outcomes[1]).toMatchObject({
      error: 'AssertionError: one is not two\nassert 1 == 2',
      longrepr: '>   def test_fail(): assert 1 == 2\nE   AssertionError: one is not two\n\ntests/test_a.py:13: AssertionError',
    });
    expect(run.outcomes[2]).toMatchObject({ error: 'not today', longrepr: '/src/tests/test_a.py:14: not today' });
    // The case's time goes to its first outcome, not to both of a teardown error's.
    expect(run.outcomes.slice(5, 7).map((o) => o.duration)).toEqual([0.003, 0]);
    expect(run.environment).toEqual({ os: 'unknown', python_version: 'unknown', hostname: 'ci-7' });
    expect(run.summary).toEqual({ total_tests: 8, passed: 3, failed: 1, skipped: 1, errors: 2, xfailed: 1, xpassed: 0, exitstatus: 1, duration: 0.064 });
  });

  it('reads pytest xunit2: node ids from the test module in the classname, collection errors and skips as the module', () => {
    expect(brief(PYTEST_XUNIT2)).toEqual([
      ['tests/test_broken.py', 'error', 'call'],
      ['tests/test_skipmod.py', 'skipped', 'call'],
      ['tests/unit/test_api.py::test_login[admin]', 'passed', 'call'],
      ['tests/unit/api_test.py::TestUsers::test_list', 'passed', 'call'],
    ]);
    expect(parseJunit(PYTEST_XUNIT2).summary).toMatchObject({ total_tests: 4, errors: 1, skipped: 1, passed: 2, exitstatus: 1, duration: 1.5 });
  });

  it('reads a Surefire file: classname::name, <skipped/> without a message, an <error> as an error of the call, the os property', () => {
    const run = parseJunit(SUREFIRE);
    expect(brief(SUREFIRE)).toEqual([
      ['com.acme.FooTest::testAdds', 'passed', 'call'],
      ['com.acme.FooTest::testDivides', 'failed', 'call'],
      ['com.acme.FooTest::testLater', 'skipped', 'call'],
      ['com.acme.FooTest::testNull', 'error', 'call'],
    ]);
    expect(run.outcomes[1]!.longrepr).toContain('at com.acme.FooTest.testDivides(FooTest.java:21)');
    expect(run.outcomes[1]!.longrepr).not.toContain('lots of log output');
    expect(run.outcomes[2]).toEqual({ nodeid: 'com.acme.FooTest::testLater', outcome: 'skipped', duration: 0 });
    expect(run.outcomes[3]!.error).toBe('java.lang.NullPointerException');
    expect(run.environment).toEqual({ os: 'Linux', python_version: 'unknown' });
    expect(run.summary).toMatchObject({ total_tests: 4, passed: 1, failed: 1, skipped: 1, errors: 1, exitstatus: 1, duration: 0.212 });
  });

  it('reads nested suites: a case without classname under its suite, a repeated node id numbered, the root time', () => {
    expect(brief(NESTED)).toEqual([
      ['inner::adds', 'passed', 'call'],
      ['inner::adds #2', 'passed', 'call'],
      ['github.com/acme/pkg::TestParse', 'passed', 'call'],
      ['github.com/acme/pkg::TestSkip', 'skipped', 'call'],
    ]);
    expect(parseJunit(NESTED).summary).toMatchObject({ total_tests: 4, exitstatus: 0, duration: 2.5 });
  });

  it('builds pytest node ids only where the attributes tell them', () => {
    expect(junitNodeId({ classname: 'tests.test_x.TestY', name: 'test_z', file: 'tests/test_x.py' })).toBe('tests/test_x.py::TestY::test_z');
    expect(junitNodeId({ classname: 'other.Thing', name: 'test_z', file: 'tests/test_x.py' })).toBe('other.Thing::test_z');
    expect(junitNodeId({ classname: 'Login test_flow', name: 'works' })).toBe('Login test_flow::works');
    expect(junitNodeId({ classname: 'com.acme.FooTest', name: 'testA' })).toBe('com.acme.FooTest::testA');
    expect(junitNodeId({ name: 'alone' })).toBe('alone');
  });

  it('refuses XML that is not well-formed, naming line and column, and a root that is not JUnit', () => {
    const unclosed = '<testsuites>\n  <testsuite name="x">\n    <testcase name="a">\n  </testsuite>\n</testsuites>';
    expect(() => parseJunit(unclosed, 'bad.xml')).toThrow(/^bad\.xml: line 4, column 14: unexpected close tag/);
    expect(() => parseJunit('<testsuite><testcase name="a" name="b"/></testsuite>', 'dup.xml')).toThrow(
      /^dup\.xml: line 1, column \d+: duplicate attribute: name/,
    );
    expect(() => parseJunit('', 'empty.xml')).toThrow(/^empty\.xml: line 1, column 0: document must contain a root element/);
    expect(() => parseJunit('<html><body/></html>', 'page.xml')).toThrow(
      'page.xml: line 1: <html>: not JUnit XML: the root element must be <testsuites> or <testsuite>',
    );
  });

  // These hold the parser to what this import relies on, so that a change of parser cannot quietly undo it.
  it('expands no entity a document declares: an internal one or an external SYSTEM one is refused, naming line and column', () => {
    const internal = '<!DOCTYPE x [<!ENTITY a "b">]>\n<testsuite><testcase name="t"><failure>&a;</failure></testcase></testsuite>';
    expect(() => parseJunit(internal, 'dtd.xml')).toThrow(/^dtd\.xml: line 2, column \d+: undefined entity\.?$/);
    const external = '<!DOCTYPE x [\n<!ENTITY e SYSTEM "file:///etc/passwd">\n]>\n<testsuite>\n<testcase name="&e;"/></testsuite>';
    expect(() => parseJunit(external, 'xxe.xml')).toThrow(/^xxe\.xml: line 5, column \d+: undefined entity\.?$/);
  });

  it('reads 100,000 nested elements without running out of stack', () => {
    const levels = 100_000;
    const deep = `<testsuite><testcase name="t"/>${'<x>'.repeat(levels)}${'</x>'.repeat(levels)}</testsuite>`;
    expect(parseJunit(deep).outcomes).toMatchObject([{ nodeid: 't', outcome: 'passed' }]);
  });

  it('keeps a verdict text of any length in bounded memory, storing what the clip of the whole text would', () => {
    // 20,000 CDATA pieces (1.2 MB): only the head and tail are kept while reading, and the clip keeps those.
    const pieces = Array.from({ length: 20_000 }, (_, i) => `frame ${String(i).padStart(5, '0')} ${'.'.repeat(48)}\n`);
    const whole = `${pieces.join('')}E   AssertionError: the end`;
    const xml = `<testsuite><testcase name="t"><failure message="m">${pieces.map((piece) => `<![CDATA[${piece}]]>`).join('')}E   AssertionError: the end</failure></testcase></testsuite>`;
    const { longrepr } = parseJunit(xml).outcomes[0]!;
    // Head and tail as the clip of the whole text cuts them (the marker's count, and so the cut, differ by a few bytes).
    const [head, tail] = longrepr!.split(/\n… \[\d+ bytes cut\] …\n/) as [string, string];
    const [wholeHead, wholeTail] = clipUtf8(whole, LIMITS.errorBytes).split(/\n… \[\d+ bytes cut\] …\n/) as [string, string];
    expect(whole.startsWith(head) && whole.endsWith(tail)).toBe(true);
    expect(Math.abs(head.length - wholeHead.length) + Math.abs(tail.length - wholeTail.length)).toBeLessThan(8);
    expect(Buffer.byteLength(longrepr!)).toBeLessThanOrEqual(LIMITS.errorBytes);
    expect(tail).toMatch(/E {3}AssertionError: the end$/);
  });

  it('refuses an element whose attributes make no outcome, naming its line and the test case', () => {
    const badTime = '<testsuite name="s">\n<testcase classname="c" name="t" time="fast"/>\n</testsuite>';
    expect(() => parseJunit(badTime, 'time.xml')).toThrow('time.xml: line 2: <testcase classname="c" name="t">: time "fast" is not a number of seconds');
    const longName = `<testsuite>\n\n<testcase classname="c" name="${'n'.repeat(5000)}"/></testsuite>`;
    expect(() => parseJunit(longName, 'long.xml')).toThrow(
      `long.xml: line 3: <testcase classname="c" name="${'n'.repeat(EXCERPT_CHARS - 1)}…">: nodeid: must be at most 4096 characters`,
    );
  });

  it('quotes only the start of a huge attribute in its message: a 5 MB classname makes a short line', () => {
    const huge = 'C'.repeat(5_000_000);
    const xml = `<testsuites><testsuite name="${huge}" time="slow">\n<testcase classname="${huge}" name="t"/></testsuite></testsuites>`;
    expect(() => parseJunit(xml, 'huge.xml')).toThrow(
      `huge.xml: line 1: <testsuite name="${'C'.repeat(EXCERPT_CHARS - 1)}…">: time "slow" is not a number of seconds`,
    );
    const caseXml = `<testsuite>\n<testcase classname="${huge}" name="t" time="${huge}"/></testsuite>`;
    const message = (() => {
      try {
        parseJunit(caseXml, 'huge.xml');
      } catch (error) {
        return (error as Error).message;
      }
    })()!;
    expect(message).toBe(
      `huge.xml: line 2: <testcase classname="${'C'.repeat(EXCERPT_CHARS - 1)}…" name="t">: time "${'C'.repeat(EXCERPT_CHARS - 1)}…" is not a number of seconds`,
    );
  });
});
