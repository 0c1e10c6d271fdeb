import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { LIMITS, type Environment, type OutcomeItem } from '#contracts';
import { excerpt, printable, quotedExcerpt } from './cli.js';
import { checkedOutcome, FileProblem, UNKNOWN_ENVIRONMENT, type ImportedRun, type OutcomeDraft, type Place } from './imported-run.js';
import { OutcomeTally } from './outcome-tally.js';

/** A `<failure>`, `<error>` or `<skipped>` of a test case: its attributes and its text (a traceback, a skip's location). */
interface VerdictElement {
  message: string | undefined;
  type: string | undefined;
  text: string;
}

/** Characters kept of each end of a verdict's text while it is read: more than its clip keeps of either end. */
const KEPT_CHARS = LIMITS.errorBytes;

/**
 * A verdict's text as it is read, in bounded memory: its first and last KEPT_CHARS characters (2 × LIMITS.errorBytes
 * in all), however many text and CDATA pieces a file splits it into. The middle dropped of a longer text lies within
 * what the clip to LIMITS.errorBytes (head and tail, in checkedOutcome) cuts anyway, so the same text is stored; only
 * the clip's "[N bytes cut]" then counts what was kept and cut, not what was dropped here.
 */
class HeadAndTail {
  private head = '';
  private tail = '';

  add(text: string): void {
    const room = KEPT_CHARS - this.head.length;
    if (room > 0) this.head += text.slice(0, room);
    if (text.length > room) this.tail = (this.tail + text.slice(Math.max(room, 0))).slice(-KEPT_CHARS);
  }

  toString(): string {
    return this.head + this.tail;
  }
}

/** A `<testcase>` being read: its attributes, where it is, and its verdicts (none: it passed). */
interface CaseDraft {
  attributes: Record<string, string>;
  place: Place;
  /** The name of the `<testsuite>` it is in, for test cases without a classname. */
  suite: string | undefined;
  failure?: VerdictElement;
  skipped?: VerdictElement;
  errors: VerdictElement[];
}

const VERDICTS = new Set(['failure', 'error', 'skipped']);

/** pytest's own texts for errors outside the test call (`failed on setup with "…"`). */
const PHASE_ERROR = /^failed on (setup|teardown) with /;

/** pytest's default `python_files` (test_*.py, *_test.py): how a module shows in a dotted classname. */
const TEST_MODULE = /^test_|_test$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Reads JUnit XML, fed in chunks of text, into one run: pytest's xunit1 and xunit2 and other runners' files
 * (nested `<testsuites>`, `<testcase>` without `file`, `<skipped/>` without a message, Maven Surefire, Jest, Go).
 * The XML must be well-formed: saxes (a strict parser) names the line and column where it is not, and an
 * element whose attributes make no outcome (a time that is not a number…) is named by its line.
 */
export class JunitReader {
  private readonly parser = new SaxesParser<{ xmlns: false; position: true }>({ xmlns: false, position: true });
  private readonly outcomes: OutcomeItem[] = [];
  private readonly tally = new OutcomeTally();
  /** Occurrences of each node id so far: a repeated one (two cases of one name) gets " #2", " #3"… */
  private readonly seen = new Map<string, number>();
  private readonly open: string[] = [];
  private readonly suites: string[] = [];
  private rootTime: number | undefined;
  private topSuiteTime: number | undefined;
  private environment: Environment = { ...UNKNOWN_ENVIRONMENT };
  private sawSuite = false;
  private testcase: CaseDraft | undefined;
  private verdict: { message: string | undefined; type: string | undefined; text: HeadAndTail } | undefined;

  constructor(private readonly source: string) {
    this.parser.on('error', (error) => {
      // saxes says "line:column: problem"; the FileProblem says which file, then where.
      throw new FileProblem(this.source, this.position(), error.message.replace(/^\d+:\d+: /, ''));
    });
    this.parser.on('opentag', (tag) => this.opened(tag));
    this.parser.on('closetag', (tag) => this.closed(tag));
    this.parser.on('text', (text) => this.text(text));
    this.parser.on('cdata', (text) => this.text(text));
  }

  write(chunk: string): this {
    this.parser.write(chunk);
    return this;
  }

  /** The run, once the whole document was read. */
  close(): ImportedRun {
    this.parser.close();
    const { failed, error } = this.tally.counts();
    const duration = this.rootTime ?? this.topSuiteTime;
    return { environment: this.environment, outcomes: this.outcomes, summary: this.tally.summary(failed + error > 0 ? 1 : 0, duration) };
  }

  private position(): Place {
    return { line: this.parser.line, column: this.parser.column };
  }

  private opened(tag: SaxesTagPlain): void {
    const { name, attributes } = tag;
    const parent = this.open.at(-1);
    this.open.push(name);
    if (parent === undefined) return this.openedRoot(name, attributes);
    if (name === 'testsuite' || name === 'testsuites') return this.openedSuite(name, attributes);
    if (name === 'testcase') {
      if (this.testcase) throw this.problem('<testcase>', 'a <testcase> inside another <testcase>');
      const place = { line: this.parser.line, what: describeCase(attributes) };
      this.testcase = { attributes, place, suite: this.suites.at(-1), errors: [] };
      return;
    }
    if (name === 'property' && parent === 'properties' && this.open.at(-3) === 'testsuite' && !this.testcase) return this.property(attributes);
    if (this.testcase && parent === 'testcase' && VERDICTS.has(name)) {
      this.verdict = { message: attributes.message, type: attributes.type, text: new HeadAndTail() };
    }
  }

  private openedRoot(name: string, attributes: Record<string, string>): void {
    if (name !== 'testsuites' && name !== 'testsuite') {
      throw this.problem(`<${printable(excerpt(name))}>`, 'not JUnit XML: the root element must be <testsuites> or <testsuite>');
    }
    this.rootTime = this.seconds(attributes.time, `<${name}>`, 'time');
    if (name === 'testsuite') this.openedSuite(name, attributes);
  }

  private openedSuite(name: string, attributes: Record<string, string>): void {
    if (this.testcase) throw this.problem(`<${name}>`, `a <${name}> inside a <testcase>`);
    if (name === 'testsuites') return;
    this.suites.push(attributes.name ?? '');
    // The first suite that says where it ran describes the run (pytest writes one suite).
    if (!this.sawSuite && attributes.hostname) this.environment = { ...this.environment, hostname: attributes.hostname };
    this.sawSuite = true;
    const time = this.seconds(attributes.time, `<testsuite${attributes.name ? ` name=${quotedExcerpt(attributes.name)}` : ''}>`, 'time');
    if (this.open.length === 2 && time !== undefined) this.topSuiteTime = (this.topSuiteTime ?? 0) + time;
  }

  /** `<property name="os" value="…">` of a suite (pytest's record_testsuite_property; Surefire's `os.name`) says more about where it ran. */
  private property({ name, value }: Record<string, string>): void {
    if (value === undefined) return;
    if (name === 'os' || name === 'os.name') this.environment = { ...this.environment, os: value };
    if (name === 'python_version') this.environment = { ...this.environment, python_version: value };
  }

  private text(text: string): void {
    if (this.verdict && this.open.at(-2) === 'testcase') this.verdict.text.add(text);
  }

  private closed({ name }: SaxesTagPlain): void {
    this.open.pop();
    if (name === 'testsuite') this.suites.pop();
    if (this.verdict && VERDICTS.has(name) && this.open.at(-1) === 'testcase') {
      const draft = this.testcase!;
      const verdict: VerdictElement = { ...this.verdict, text: this.verdict.text.toString() };
      if (name === 'error') draft.errors.push(verdict);
      // A second <failure> or <skipped> (some runners write one per assertion) adds nothing to the outcome.
      else if (name === 'failure') draft.failure ??= verdict;
      else draft.skipped ??= verdict;
      this.verdict = undefined;
    }
    if (name === 'testcase') {
      this.caseOutcomes(this.testcase!).forEach((item) => {
        this.outcomes.push(item);
        this.tally.add(item);
      });
      this.testcase = undefined;
    }
  }

  /**
   * A test case's outcomes as pytest counted them: errors pytest marks "failed on setup/teardown" are those
   * phases' errors (a case can hold a passed call and a teardown error); the call failed, erred, was skipped
   * (xfailed where pytest says pytest.xfail), or passed — unless its setup failed, when it never ran. The
   * case's time goes to its first outcome.
   */
  private caseOutcomes(draft: CaseDraft): OutcomeItem[] {
    const { attributes, place } = draft;
    const phased = draft.errors.map((error) => ({ error, when: PHASE_ERROR.exec(error.message ?? '')?.[1] as 'setup' | 'teardown' | undefined }));
    const phaseErrors = (phase: 'setup' | 'teardown'): PhaseOutcome[] =>
      phased.filter(({ when }) => when === phase).map(({ error }) => ({ outcome: 'error', when: phase, ...failed(error) }));
    const setup = phaseErrors('setup');
    const call = callOutcome(draft, phased.find(({ when }) => when === undefined)?.error, setup.length > 0);
    const verdicts = [...setup, ...(call ? [call] : []), ...phaseErrors('teardown')];
    const nodeid = this.uniqueNodeId(junitNodeId(attributes, draft.suite));
    const location = this.location(attributes, place);
    const time = this.seconds(attributes.time, place.what!, 'time') ?? 0;
    return verdicts.map((verdict, index) => checkedOutcome({ nodeid, ...verdict, duration: index === 0 ? time : 0, location }, this.source, place));
  }

  private uniqueNodeId(nodeid: string): string {
    const count = (this.seen.get(nodeid) ?? 0) + 1;
    this.seen.set(nodeid, count);
    return count === 1 ? nodeid : `${nodeid} #${count}`;
  }

  private location({ file, line }: Record<string, string>, place: Place): OutcomeItem['location'] {
    if (!file) return undefined;
    if (line === undefined) return { path: file };
    if (!/^\d+$/.test(line)) throw new FileProblem(this.source, place, `line ${quotedExcerpt(line)} is not a line number`);
    return { path: file, lineno: Number(line) };
  }

  /** A time attribute in seconds (absent or empty: none), or a FileProblem naming the element. */
  private seconds(text: string | undefined, what: string, attribute: string): number | undefined {
    if (text === undefined || text.trim() === '') return undefined;
    const seconds = Number(text);
    if (!Number.isFinite(seconds) || seconds < 0) throw this.problem(what, `${attribute} ${quotedExcerpt(text)} is not a number of seconds`);
    return seconds;
  }

  private problem(what: string, message: string): FileProblem {
    return new FileProblem(this.source, { line: this.parser.line, what }, message);
  }
}

/** The whole of a JUnit XML text as one run (what the tests use; the command feeds the file in chunks). */
export const parseJunit = (xml: string, source = 'junit.xml'): ImportedRun => new JunitReader(source).write(xml).close();

/** `<testcase classname="…" name="…">`, as an error message names it (each attribute clipped: a file can hold a 5 MB one). */
function describeCase({ classname, name }: Record<string, string>): string {
  return `<testcase${classname ? ` classname=${quotedExcerpt(classname)}` : ''}${name === undefined ? '' : ` name=${quotedExcerpt(name)}`}>`;
}

const failed = (verdict: VerdictElement) => ({ error: verdict.message ?? firstLine(verdict.text), longrepr: verdict.text || undefined });

const firstLine = (text: string) => text.trim().split('\n')[0] || undefined;

/** What a case's verdict elements say about one phase: its outcome and texts. */
type PhaseOutcome = Pick<OutcomeDraft, 'outcome' | 'when' | 'error' | 'longrepr'>;

function callOutcome(draft: CaseDraft, callError: VerdictElement | undefined, setupFailed: boolean): PhaseOutcome | undefined {
  if (draft.failure) return { outcome: 'failed', ...failed(draft.failure) };
  if (callError) return { outcome: 'error', ...failed(callError) };
  if (draft.skipped) {
    const { type, message, text } = draft.skipped;
    return { outcome: type === 'pytest.xfail' ? 'xfailed' : 'skipped', error: message || undefined, longrepr: text || undefined };
  }
  return setupFailed ? undefined : { outcome: 'passed' };
}

/**
 * A pytest node id where the attributes tell it: `file::Class::name` from xunit1's `file` (classname
 * "tests.test_x.TestY" with file "tests/test_x.py" → "tests/test_x.py::TestY::name"), or, without `file`
 * (xunit2), from a classname whose module part is a pytest test module (test_*.py, *_test.py). Else
 * `classname::name` (the suite's name where there is no classname).
 */
export function junitNodeId({ classname = '', name = '', file }: Record<string, string | undefined>, suite?: string): string {
  const pytest = file?.endsWith('.py') ? fromFile(classname, name, file) : fromModuleName(classname, name);
  if (pytest) return pytest;
  const owner = classname || suite;
  return owner ? `${owner}::${name}` : name;
}

function fromFile(classname: string, name: string, file: string): string | undefined {
  const module = file.slice(0, -'.py'.length).replaceAll('/', '.');
  // A collection error or skip is reported for the module itself: classname "", name the dotted module.
  if (!classname) return name === module ? file : undefined;
  if (classname === module) return `${file}::${name}`;
  if (classname.startsWith(`${module}.`)) return [file, ...classname.slice(module.length + 1).split('.'), name].join('::');
  return undefined;
}

function fromModuleName(classname: string, name: string): string | undefined {
  const segments = (classname || name).split('.');
  if (!segments.every((segment) => IDENTIFIER.test(segment))) return undefined;
  const module = segments.findLastIndex((segment) => TEST_MODULE.test(segment));
  if (module < 0) return undefined;
  const path = `${segments.slice(0, module + 1).join('/')}.py`;
  if (!classname) return module === segments.length - 1 ? path : undefined;
  return [path, ...segments.slice(module + 1), name].join('::');
}
