import { z } from 'zod';
import { LIMITS, type Environment, type OutcomeItem, type Phase, type Summary } from '#contracts';
import { excerpt, printable } from './cli.js';
import { checkBounds, checkedOutcome, checkedRecord, FileProblem, jsonLine, UNKNOWN_ENVIRONMENT, type OutcomeDraft, type Place } from './imported-run.js';
import { OutcomeTally } from './outcome-tally.js';

/*
 * pytest-reportlog's records: one JSON object per line, `$report_type` saying which. These are pytest's shapes
 * (its report serialisation), not this project's contracts; only the fields the import uses are read, others
 * (keywords, sections, user_properties, xdist's worker fields…) are let through unread.
 */
const Location = z.tuple([z.string(), z.int().nullable(), z.string()]);

const TestReport = z.object({
  nodeid: z.string(),
  when: z.enum(['setup', 'call', 'teardown']),
  // "rerun": pytest-rerunfailures' mark on an attempt that failed and is run again.
  outcome: z.enum(['passed', 'failed', 'skipped', 'rerun']),
  duration: z.number(),
  longrepr: z.unknown(),
  location: Location.optional(),
  wasxfail: z.string().optional(),
});
type TestReport = z.infer<typeof TestReport>;

const CollectReport = z.object({
  nodeid: z.string(),
  outcome: z.enum(['passed', 'failed', 'skipped']),
  longrepr: z.unknown(),
});

const SessionStart = z.object({ pytest_version: z.string().optional() });
const SessionFinish = z.object({ exitstatus: z.int() });
/**
 * How deep a record may nest and how many keys and items it may hold in all, checked (without recursion) before
 * a schema or JSON.stringify walks it. pytest's records nest about 8 levels; a long traceback or a -vv diff holds
 * tens of thousands of lines, each an item: more than one tool call's arguments may (LIMITS.argumentEntries).
 */
export const RECORD_BOUNDS = { depth: LIMITS.argumentDepth, entries: 16 * LIMITS.argumentEntries };

const Envelope = z.object(
  { $report_type: z.string({ error: 'must name the record\'s type, e.g. "TestReport"' }) },
  { error: 'not a report log record: a JSON object is expected' },
);

/** How far one test has got: its attempt (reruns count up), whether the last one was marked for a rerun, the phases sent. */
interface TestProgress {
  attempt: number;
  rerun: boolean;
  sent: Set<Phase>;
}

/**
 * Reads a pytest report log line by line into outcomes, counted like pytest's own summary: every call report;
 * setup and teardown reports only when they did not pass (a failed one is an error, a skipped setup a skip);
 * `wasxfail` turns a skip into xfailed and a pass into xpassed; a collection that failed is an error, one that
 * was skipped a skip. pytest-rerunfailures' "rerun" reports are attempts: the rerun attempt is sent as failed
 * (an error outside the call) with attempt n, what follows as attempt n+1, which replaces it in the counts.
 * A line that is not such a record is a FileProblem naming it.
 */
export class ReportLogReader {
  private readonly tally = new OutcomeTally();
  private readonly tests = new Map<string, TestProgress>();
  private pending: OutcomeItem[] = [];
  private startRecord: string | undefined;
  private firstReport: string | undefined;
  private pytestVersion: string | undefined;
  private exitstatus: number | undefined;

  constructor(private readonly source: string) {}

  /** Whether the SessionStart record was read: the session can be started. */
  get started(): boolean {
    return this.startRecord !== undefined;
  }

  /** Whether the SessionFinish record was read: the run is over. */
  get finished(): boolean {
    return this.exitstatus !== undefined;
  }

  add(text: string, line: number): void {
    if (!text.trim()) return;
    const place: Place = { line };
    if (this.finished) throw new FileProblem(this.source, place, 'a record after the SessionFinish record');
    const record = jsonLine(text, this.source, line);
    checkBounds(record, RECORD_BOUNDS, this.source, place);
    const type = checkedRecord(Envelope, record, this.source, place).$report_type;
    place.what = printable(excerpt(type));
    if (!this.started && type !== 'SessionStart') throw new FileProblem(this.source, place, 'a report log begins with a SessionStart record');
    switch (type) {
      case 'SessionStart':
        if (this.started) throw new FileProblem(this.source, place, 'a second SessionStart record: one file holds one run');
        this.pytestVersion = checkedRecord(SessionStart, record, this.source, place).pytest_version;
        this.startRecord = text;
        return;
      case 'TestReport':
        this.firstReport ??= text;
        return this.testReport(checkedRecord(TestReport, record, this.source, place), place);
      case 'CollectReport':
        return this.collectReport(checkedRecord(CollectReport, record, this.source, place), place);
      case 'SessionFinish':
        this.exitstatus = checkedRecord(SessionFinish, record, this.source, place).exitstatus;
        return;
      default:
        // WarningMessage, and records later versions may add, say nothing about outcomes.
        return;
    }
  }

  /** The outcomes read since the last take, in file order. */
  take(): OutcomeItem[] {
    const taken = this.pending;
    this.pending = [];
    return taken;
  }

  /**
   * What the session's id derives from once it is known: the SessionStart record, and the first test report
   * (its times tell runs apart, which SessionStart alone does not) or, in a run without tests, nothing more.
   * Before the first report, undefined: the run may still bring one, unless `complete` (the whole file was read).
   */
  identity(complete: boolean): string | undefined {
    if (this.startRecord === undefined) return undefined;
    if (this.firstReport === undefined && !complete && !this.finished) return undefined;
    return `${this.startRecord}\n${this.firstReport ?? ''}`;
  }

  /** Where the run was: unknown but for pytest's version, under `pytest` as the pytest plugin sends it. */
  environment(): Environment {
    return this.pytestVersion === undefined ? { ...UNKNOWN_ENVIRONMENT } : { ...UNKNOWN_ENVIRONMENT, pytest: this.pytestVersion };
  }

  /** pytest's summary of the run, once SessionFinish said its exit status. */
  summary(): Summary | undefined {
    return this.exitstatus === undefined ? undefined : this.tally.summary(this.exitstatus);
  }

  private testReport(report: TestReport, place: Place): void {
    const test = this.tests.get(report.nodeid) ?? { attempt: 1, rerun: false, sent: new Set<Phase>() };
    this.tests.set(report.nodeid, test);
    if (report.when === 'setup' && test.rerun) {
      test.attempt++;
      test.rerun = false;
    }
    const outcome = testOutcome(report, test.sent.has(report.when));
    if (!outcome) return;
    if (report.outcome === 'rerun') test.rerun = true;
    test.sent.add(report.when);
    const [path, lineno, domain] = report.location ?? [];
    this.push(
      {
        nodeid: report.nodeid,
        outcome,
        duration: report.duration,
        ...(report.when === 'call' ? {} : { when: report.when }),
        ...(test.attempt > 1 ? { attempt: test.attempt } : {}),
        ...failureTexts(report.longrepr),
        location: path === undefined ? undefined : { path, lineno, domain },
      },
      { ...place, what: `TestReport ${printable(excerpt(report.nodeid))}` },
    );
  }

  private collectReport({ nodeid, outcome, longrepr }: z.infer<typeof CollectReport>, place: Place): void {
    if (outcome === 'passed') return;
    this.push(
      { nodeid, outcome: outcome === 'failed' ? 'error' : 'skipped', duration: 0, ...failureTexts(longrepr) },
      { ...place, what: `CollectReport ${printable(excerpt(nodeid))}` },
    );
  }

  private push(draft: OutcomeDraft, place: Place): void {
    const item = checkedOutcome(draft, this.source, place);
    this.pending.push(item);
    this.tally.add(item);
  }
}

/**
 * The outcome a report is sent as, or none: a passed setup or teardown is not sent, unless it follows an
 * earlier attempt's report of the same phase, which it then replaces.
 */
function testOutcome({ when, outcome, wasxfail }: TestReport, phaseSentBefore: boolean): OutcomeItem['outcome'] | undefined {
  const xfail = wasxfail !== undefined;
  switch (outcome) {
    case 'rerun':
      return when === 'call' ? 'failed' : 'error';
    case 'failed':
      return when === 'call' ? 'failed' : 'error';
    case 'skipped':
      return xfail ? 'xfailed' : 'skipped';
    case 'passed':
      if (when === 'call') return xfail ? 'xpassed' : 'passed';
      return phaseSentBefore ? 'passed' : undefined;
  }
}

const ReprTraceback = z.object({
  reprentries: z.array(
    z.object({
      data: z.object({
        lines: z.array(z.string()).optional(),
        reprfileloc: z.object({ path: z.string(), lineno: z.number(), message: z.string() }).nullish(),
      }),
    }),
  ),
});

/** A failure as pytest serialises it: the crash, the traceback, and the chain of exceptions that led to it. */
const ExceptionRepr = z.object({
  reprcrash: z.object({ message: z.string() }).nullish(),
  reprtraceback: ReprTraceback,
  chain: z.array(z.tuple([ReprTraceback, z.unknown(), z.string().nullable()])).optional(),
});

/** A skip: where and why. */
const SkipRepr = z.tuple([z.string(), z.number(), z.string()]);

/**
 * `error` (the one-line message) and `longrepr` (the text pytest prints) of a report's longrepr: a string
 * as it is; a skip's [path, lineno, reason]; a failure's traceback entries and crash as pytest's long format
 * shows them. A shape this does not know is kept as its JSON.
 */
export function failureTexts(longrepr: unknown): { error?: string; longrepr?: string } {
  if (longrepr === null || longrepr === undefined) return {};
  if (typeof longrepr === 'string') return { error: longrepr.trim().split('\n')[0] || undefined, longrepr };
  const skip = SkipRepr.safeParse(longrepr);
  if (skip.success) {
    const [path, lineno, reason] = skip.data;
    return { error: reason.replace(/^Skipped: /, ''), longrepr: `${path}:${lineno}: ${reason}` };
  }
  const failure = ExceptionRepr.safeParse(longrepr);
  // Its nesting was bounded when its record was read (RECORD_BOUNDS): JSON.stringify cannot run out of stack.
  if (!failure.success) return { longrepr: JSON.stringify(longrepr) };
  const { reprcrash, reprtraceback, chain } = failure.data;
  const text = (chain ?? [[reprtraceback, null, null] as const])
    .map(([traceback, , description]) => [tracebackText(traceback), description].filter(Boolean).join('\n\n'))
    .join('\n\n');
  return { error: reprcrash?.message, longrepr: text };
}

function tracebackText({ reprentries }: z.infer<typeof ReprTraceback>): string {
  return reprentries
    .map(({ data: { lines = [], reprfileloc } }) =>
      [...lines, ...(reprfileloc ? ['', `${reprfileloc.path}:${reprfileloc.lineno}: ${reprfileloc.message}`] : [])].join('\n'),
    )
    .join('\n\n');
}
