import { LIMITS, type OutcomeItem, type RecordSessionStartInput, type Summary, type ToolName } from '#contracts';
import { utf8Length } from '#domain';
import { CliError } from './cli.js';
import type { McpGateway, ToolInput, ToolOutput } from './mcp-gateway.client.js';
import type { Progress } from './progress.js';

/**
 * JSON of outcomes per record_test_outcomes call, at most: far below the gateway's 4 MiB request body, and
 * few enough bytes that one call's results fit in a couple of events.
 */
export const BATCH_BYTES = 1024 * 1024;

/** One session as an importer made it from a file, checked against the contracts, ready to send. */
export interface SessionPlan {
  session_id: string;
  start: Omit<RecordSessionStartInput, 'session_id'>;
  outcomes: OutcomeItem[];
  /** The run's summary; none leaves the session running (the file ended before the run did). */
  finish: Summary | undefined;
}

export interface UploadResult {
  session_id: string;
  /** Outcomes sent, and of those how many the gateway newly recorded and how many it already held. */
  outcomes: number;
  recorded: number;
  duplicates: number;
  finished: boolean;
}

/** The one line a command prints per session it sent. */
export const resultLine = ({ session_id, outcomes, recorded, duplicates, finished }: UploadResult): string =>
  `session ${session_id}: ${outcomes} outcomes (${recorded} recorded, ${duplicates} already recorded), ${finished ? 'finished' : 'not finished'}`;

/** Outcomes in record_test_outcomes calls, in order: at most LIMITS.batchOutcomes items and BATCH_BYTES of JSON each. */
export function* outcomeBatches(items: readonly OutcomeItem[]): Generator<OutcomeItem[]> {
  let batch: OutcomeItem[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = utf8Length(JSON.stringify(item)) + 1;
    if (batch.length > 0 && (batch.length === LIMITS.batchOutcomes || bytes + size > BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

/**
 * Sends one session's calls (start, outcomes in batches, finish), every call naming the session, and adds up
 * what the gateway answered. Every call is idempotent, so a failure part way leaves a session that the same
 * command, run again, completes: the error says so.
 */
export class SessionSender {
  private started = false;
  private sent = 0;
  private recorded = 0;
  private duplicates = 0;
  private finished = false;

  constructor(
    private readonly gateway: McpGateway,
    readonly sessionId: string,
    private readonly progress?: Progress,
  ) {}

  async start(args: Omit<RecordSessionStartInput, 'session_id'>): Promise<void> {
    await this.call('record_session_start', { ...args, session_id: this.sessionId });
    this.started = true;
  }

  async send(items: readonly OutcomeItem[]): Promise<void> {
    for (const outcomes of outcomeBatches(items)) {
      const answer = await this.call('record_test_outcomes', { session_id: this.sessionId, outcomes });
      this.sent += outcomes.length;
      this.recorded += answer.recorded;
      this.duplicates += answer.duplicates;
      this.progress?.add(outcomes.length);
    }
  }

  async finish(summary: Summary): Promise<void> {
    await this.call('record_session_finish', { session_id: this.sessionId, summary });
    this.finished = true;
  }

  get result(): UploadResult {
    const { sessionId: session_id, sent: outcomes, recorded, duplicates, finished } = this;
    return { session_id, outcomes, recorded, duplicates, finished };
  }

  private async call<N extends ToolName>(tool: N, args: ToolInput<N>): Promise<ToolOutput<N>> {
    try {
      return await this.gateway.call(tool, args);
    } catch (error) {
      if (!this.started || !(error instanceof CliError)) throw error;
      throw new CliError(
        `${error.message} — session ${this.sessionId} holds ${this.sent} outcomes of this run so far and is not finished; ` +
          'running the same command again is safe (what was recorded is recognised, not counted twice)',
      );
    }
  }
}

/** Sends a whole plan: start, every outcome, then the finish where the plan has one. */
export async function uploadSession(gateway: McpGateway, plan: SessionPlan, progress?: Progress): Promise<UploadResult> {
  const sender = new SessionSender(gateway, plan.session_id, progress);
  try {
    await sender.start(plan.start);
    await sender.send(plan.outcomes);
    if (plan.finish) await sender.finish(plan.finish);
  } finally {
    progress?.end();
  }
  return sender.result;
}
