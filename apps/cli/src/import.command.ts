import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { RecordSessionStartInput, SessionId } from '#contracts';
import { check, CliError, note, out, UsageError } from './cli.js';
import { fileLines } from './file-lines.js';
import { derivedSessionId, FileProblem, planOf, sessionStart, sha256, type ImportedRun, type SessionChoice } from './imported-run.js';
import { JunitReader } from './junit.js';
import { DEFAULT_MCP_URL, gatewayOptions, gatewayTarget, withGateway, type GatewayOptions, type GatewayTarget } from './mcp-gateway.client.js';
import { Progress } from './progress.js';
import { ReportLogReader } from './reportlog.js';
import { resultLine, SessionSender, uploadSession, type SessionPlan } from './session-upload.js';

interface SessionOptions extends GatewayOptions {
  sessionId?: string;
  project?: string;
}

/** `mcp-pytest import junit|reportlog`. */
export function importCommand(program: Command): void {
  const imports = program
    .command('import')
    .summary('send a JUnit XML file or a pytest report log to the gateway as a session')
    .description(
      [
        'Sends test results recorded in a file to the gateway, through its MCP tools, as an MCP client with a bearer key: one session per file (record_session_start, record_test_outcomes in batches, then record_session_finish), owned by the key’s grant. Prints one line per session:',
        '  session <id>: N outcomes (R recorded, D already recorded), finished',
        'Session ids: junit-<32 hex digits of the file’s SHA-256>; reportlog-<32 hex digits of the SHA-256 of the file’s absolute path, its SessionStart record and its first test report>. The same file gives the same session, and every call is idempotent: importing a file again changes nothing and reports its outcomes as already recorded. --session-id ID chooses the id instead (one file only).',
      ].join('\n\n'),
    )
    .addHelpText('afterAll', '\nA progress bar shows on stderr when it is a terminal and the import takes a while.');

  sessionOptions(
    imports
      .command('junit')
      .summary('send JUnit XML files, one session each')
      .description(
        'JUnit XML: pytest’s --junitxml (xunit1 and xunit2) and other runners’ files. Every file is read whole before anything is sent: a file that is not well-formed JUnit XML is refused, naming its line and column (or element), and nothing is sent.',
      )
      .usage('FILE.xml… [--session-id ID] [--project NAME] [--url URL] [--token KEY]')
      .argument('<FILE.xml...>', 'JUnit XML files'),
  ).action((files: string[], options: SessionOptions) => importJunit(files, options));

  sessionOptions(
    imports
      .command('reportlog')
      .summary('send a pytest report log as a session; --follow reads it while pytest writes it')
      .description(
        [
          'A pytest report log (pytest-reportlog’s --report-log, JSON Lines). Read whole first, a line that is not a report record is refused, naming its line, and nothing is sent.',
          'With --follow: read while pytest writes it (waiting for it to appear), sending outcomes as they come, until its SessionFinish record; then the session is finished. In follow mode the outcomes before a bad line were already sent: the session is left running and the error says so. Ctrl-C also leaves it running (exit code 1).',
        ].join('\n\n'),
      )
      .usage('FILE.jsonl [--follow] [--session-id ID] [--project NAME] [--url URL] [--token KEY]')
      .argument('<FILE.jsonl>', 'the report log')
      .option('--follow', 'follow the file as pytest writes it'),
  ).action((file: string, options: SessionOptions & { follow?: boolean }) => importReportLog(file, options));
}

/** The flags every import takes. */
function sessionOptions(command: Command): Command {
  return gatewayOptions(
    command.option('--session-id <ID>', 'the session’s id (1–128 of A–Z a–z 0–9 _ -)').option('--project <NAME>', 'the session’s project'),
    DEFAULT_MCP_URL,
  );
}

/** The session flags, checked against the contracts' fields. */
function sessionFlags(options: SessionOptions) {
  return {
    sessionId: options.sessionId === undefined ? undefined : check(SessionId, options.sessionId, '--session-id'),
    project: options.project === undefined ? undefined : check(RecordSessionStartInput.shape.project, options.project, '--project'),
  };
}

async function importJunit(files: string[], options: SessionOptions): Promise<void> {
  const { sessionId, project } = sessionFlags(options);
  if (sessionId !== undefined && files.length > 1) throw new UsageError('--session-id names one session: give it with one file');
  const target = gatewayTarget(options);
  // Every file is read whole before anything is sent: one that cannot be taken stops the command with nothing sent.
  const plans: SessionPlan[] = [];
  for (const file of files) {
    const { run, digest } = await readJunit(file);
    plans.push(planOf(run, { session_id: sessionId ?? derivedSessionId('junit', digest), project, source: 'junit' }, file));
  }
  await withGateway(target, async (gateway) => {
    for (const [index, plan] of plans.entries()) {
      out(resultLine(await uploadSession(gateway, plan, new Progress(basename(files[index]!), plan.outcomes.length))));
    }
  });
}

/** A JUnit XML file read in chunks into a run, and the SHA-256 of its bytes. */
async function readJunit(file: string): Promise<{ run: ImportedRun; digest: string }> {
  const reader = new JunitReader(file);
  const hash = createHash('sha256');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      reader.write(decoder.decode(chunk, { stream: true }));
    }
    reader.write(decoder.decode());
    return { run: reader.close(), digest: hash.digest('hex') };
  } catch (error) {
    if (error instanceof CliError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ERR_ENCODING_INVALID_ENCODED_DATA') throw new CliError(`${file}: not UTF-8 text`);
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

async function importReportLog(file: string, options: SessionOptions & { follow?: boolean }): Promise<void> {
  const { sessionId, project } = sessionFlags(options);
  const target = gatewayTarget(options);
  const choose = (identity: string): SessionChoice => ({
    session_id: sessionId ?? derivedSessionId('reportlog', sha256(`${resolve(file)}\n${identity}`)),
    project,
    source: 'reportlog',
  });
  if (options.follow) return followReportLog(file, target, choose);

  const reader = new ReportLogReader(file);
  for await (const lines of fileLines(file, { follow: false })) for (const { text, number } of lines) reader.add(text, number);
  const identity = reader.identity(true);
  if (identity === undefined) throw new CliError(`${file}: no records: a report log begins with a SessionStart record`);
  const plan = planOf({ environment: reader.environment(), outcomes: reader.take(), summary: reader.summary() }, choose(identity), file);
  if (!plan.finish) note(`${file} has no SessionFinish record (the run did not end): session ${plan.session_id} is left running`);
  await withGateway(target, async (gateway) => out(resultLine(await uploadSession(gateway, plan, new Progress(basename(file), plan.outcomes.length)))));
}

/**
 * Reads the report log as pytest writes it: the session starts once its id is known (at the first test
 * report), each group of lines read at once is sent as it comes, and the SessionFinish record finishes the
 * session and the command. Ctrl-C, a bad line or a lost gateway leave the session running, and say so.
 */
async function followReportLog(file: string, target: GatewayTarget, choose: (identity: string) => SessionChoice): Promise<void> {
  const stop = new AbortController();
  const abort = () => stop.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  const reader = new ReportLogReader(file);
  const progress = new Progress(basename(file));
  let sender: SessionSender | undefined;
  try {
    await withGateway(target, async (gateway) => {
      for await (const lines of fileLines(file, { follow: true, signal: stop.signal })) {
        for (const { text, number } of lines) {
          try {
            reader.add(text, number);
          } catch (error) {
            if (!(sender && error instanceof FileProblem)) throw error;
            throw new CliError(`${error.message} — the records before it were sent: session ${sender.sessionId} is left running`);
          }
          // What pytest may write after its SessionFinish is not this run's.
          if (reader.finished) break;
        }
        const identity = reader.identity(false);
        if (!sender && identity !== undefined) {
          const choice = choose(identity);
          sender = new SessionSender(gateway, choice.session_id, progress);
          await sender.start(sessionStart(reader.environment(), choice, file));
        }
        if (sender) await sender.send(reader.take());
        if (sender && reader.finished) return sender.finish(reader.summary()!);
      }
    });
  } catch (error) {
    if (!stop.signal.aborted) throw error;
    const left = sender ? `session ${sender.sessionId} is left running with ${sender.result.outcomes} outcomes` : 'nothing was sent';
    throw new CliError(`stopped before ${file}'s SessionFinish record: ${left}`);
  } finally {
    progress.end();
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
  }
  out(resultLine(sender!.result));
}
