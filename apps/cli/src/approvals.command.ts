import { DeliverPolicy } from '@nats-io/jetstream';
import type { Command } from 'commander';
import { ZodError } from 'zod';
import { APPROVALS_STREAM, ApprovalDecided, ApprovalEvent, ApprovalId, approvalDecisionMsgId, approvalSubject, type ApprovalRequested } from '#contracts';
import { lastApprovalEvent, type StoredApprovalEvent } from '#nats/approvals';
import { isWrongLastSequence } from '#nats/jetstream-errors';
import { ensureApprovalsStream } from '#nats/provision';
import {
  check,
  CliError,
  formatDuration,
  jsonOf,
  jsonText,
  NATS_ENVIRONMENT,
  note,
  out,
  printable,
  printableJson,
  table,
  UsageError,
  withNats,
  type Nats,
} from './cli.js';

const ARGS_SHOWN = 200;

/** `mcp-pytest approvals list|approve|deny`. */
export function approvalsCommand(program: Command): void {
  const approvals = program
    .command('approvals')
    .summary('list, approve and deny tool calls waiting for a person')
    .description(
      `Tool calls that a policy holds for a person wait in the ${APPROVALS_STREAM} stream until someone decides (or they expire). The first decision on a call wins; a later one is refused.`,
    )
    .addHelpText('afterAll', NATS_ENVIRONMENT);

  approvals
    .command('list')
    .summary('calls waiting for a decision: id, age, time left, agent (grant), tool, arguments')
    .usage('[--all] [--json]')
    .option('--all', 'list decided and expired calls too, with their decision')
    .option('--json', 'list as a JSON array of {id, status, request, decision}')
    .action((options: { all?: boolean; json?: boolean }) => withNats((nats) => list(nats, options.all ?? false, options.json ?? false)));

  for (const [name, usage, summary, decision] of [
    ['approve', 'ID [--by NAME] [--reason TEXT]', 'let the call go ahead', 'approved'],
    ['deny', 'ID --reason TEXT [--by NAME]', 'refuse the call; the agent gets the reason', 'denied'],
  ] as const) {
    approvals
      .command(name)
      .summary(summary)
      .usage(usage)
      .argument('<ID>', 'the approval’s id, as list shows it')
      .option('--by <NAME>', 'who decides (default: $USER, else "cli")')
      .option('--reason <TEXT>', `why (${decision === 'denied' ? 'required; ' : ''}at most 1000 characters)`)
      .action((id: string, options: { by?: string; reason?: string }) => withNats((nats) => decide(nats, decisionOf(decision, id, options))));
  }
}

/** The command line's decision, checked before anything is sent. */
function decisionOf(decision: Decision['decision'], id: string, options: { by?: string; reason?: string }): Decision {
  const checkedId = check(ApprovalId, id, 'ID');
  const by = options.by ?? (process.env.USER || 'cli');
  if (!by.trim()) throw new UsageError('--by must not be empty');
  if (decision === 'denied' && !options.reason?.trim()) throw new UsageError('deny needs --reason TEXT: the agent is told why');
  if (options.reason !== undefined && options.reason.length > 1000) throw new UsageError('--reason must be at most 1000 characters');
  return { id: checkedId, decision, by, reason: options.reason };
}

/** The approval's last event; a stored message that is not one is named, not thrown as a zod error. */
async function lastEvent({ jsm }: Nats, id: string): Promise<StoredApprovalEvent | undefined> {
  try {
    return await lastApprovalEvent(jsm, id);
  } catch (error) {
    if (error instanceof ZodError) throw new CliError(`approval ${id}: its last stored message is not an approval event`);
    throw error;
  }
}

const alreadyDecided = ({ id, decision, by, at }: ApprovalDecided) => new CliError(`approval ${id} was already ${decision} by ${printable(by)} at ${at}`);

interface Decision {
  id: string;
  decision: 'approved' | 'denied';
  by: string;
  reason: string | undefined;
}

async function decide(nats: Nats, { id, decision, by, reason }: Decision): Promise<void> {
  await ensureApprovalsStream(nats.jsm, nats.store);
  const last = await lastEvent(nats, id);
  if (!last) throw new CliError(`no approval ${id}`);
  if (last.event.type === 'ApprovalDecided') throw alreadyDecided(last.event);
  const request = last.event;
  if (Date.parse(request.expires_at) <= Date.now()) throw new CliError(`approval ${id} expired at ${request.expires_at}`);

  const event: ApprovalDecided = { type: 'ApprovalDecided', v: 1, id, at: new Date().toISOString(), decision, by, ...(reason ? { reason } : {}) };
  let stored: boolean;
  try {
    const ack = await nats.js.publish(approvalSubject(id), JSON.stringify(event), {
      msgID: approvalDecisionMsgId(id),
      expect: { lastSubjectSequence: last.seq },
    });
    stored = !ack.duplicate;
  } catch (error) {
    if (!isWrongLastSequence(error)) throw error;
    stored = false;
  }
  if (!stored) {
    const now = await lastEvent(nats, id);
    if (now?.event.type === 'ApprovalDecided') throw alreadyDecided(now.event);
    throw new CliError(`approval ${id} changed while deciding; look again with mcp-pytest approvals list --all`);
  }
  out(`${decision} ${id} (${printable(request.tool)} by ${request.agent})`);
}

type Status = 'pending' | ApprovalDecided['decision'];

interface Approval {
  id: string;
  status: Status;
  request: ApprovalRequested;
  decision: ApprovalDecided | null;
}

async function list(nats: Nats, all: boolean, json: boolean): Promise<void> {
  await ensureApprovalsStream(nats.jsm, nats.store);
  const now = Date.now();
  const approvals = (await readApprovals(nats, now)).filter((a) => all || a.status === 'pending');
  if (json) return out(jsonText(approvals, 2));
  if (approvals.length === 0) return out(all ? 'No approvals.' : 'No approvals pending.');
  const clip = (args: string) => (args.length > ARGS_SHOWN ? `${args.slice(0, ARGS_SHOWN - 1)}…` : args);
  // What the stream holds is shown escaped: a tool name, an argument or a decider's name cannot break a row.
  const rows = approvals.map(({ id, status, request, decision }) => [
    id,
    ...(all ? [decision ? `${status} by ${printable(decision.by)}` : status] : []),
    formatDuration(now - Date.parse(request.at)),
    status === 'pending' ? formatDuration(Date.parse(request.expires_at) - now) : '-',
    `${request.agent} (${request.grant})`,
    printable(request.tool),
    clip(printableJson(request.args)),
  ]);
  table([['ID', ...(all ? ['STATUS'] : []), 'AGE', 'EXPIRES IN', 'AGENT (GRANT)', 'TOOL', 'ARGS'], ...rows]).forEach(out);
}

/** Every approval in the stream, folded by id in request order; pending or expired as of `now`. */
async function readApprovals({ js }: Nats, now: number): Promise<Approval[]> {
  const requests = new Map<string, ApprovalRequested>();
  const decisions = new Map<string, ApprovalDecided>();
  const consumer = await js.consumers.get(APPROVALS_STREAM, { deliver_policy: DeliverPolicy.All });
  // What the stream held when the consumer was made: read that much, then stop.
  if ((await consumer.info(true)).num_pending > 0) {
    const messages = await consumer.consume({ max_messages: 1000 });
    for await (const msg of messages) {
      const parsed = ApprovalEvent.safeParse(jsonOf(msg));
      if (!parsed.success) note(`skipping ${APPROVALS_STREAM} message ${msg.seq}: not an approval event`);
      else if (parsed.data.type === 'ApprovalRequested') requests.set(parsed.data.id, parsed.data);
      // The first decision is the one that counts (the protocol allows one; be safe against strays).
      else if (!decisions.has(parsed.data.id)) decisions.set(parsed.data.id, parsed.data);
      if (msg.info.pending === 0) break;
    }
  }
  await consumer.delete().catch(() => undefined);
  return [...requests.values()].map((request) => {
    const decision = decisions.get(request.id) ?? null;
    const status: Status = decision?.decision ?? (Date.parse(request.expires_at) <= now ? 'expired' : 'pending');
    return { id: request.id, status, request, decision };
  });
}
