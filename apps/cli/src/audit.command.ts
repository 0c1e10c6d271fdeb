import { DeliverPolicy } from '@nats-io/jetstream';
import type { Command } from 'commander';
import { AgentName, AUDIT_STREAM, AuditMessage, auditSubject, type AuditRecord } from '#contracts';
import { ensureAuditStream } from '#nats/provision';
import { check, jsonOf, NATS_ENVIRONMENT, jsonText, note, out, parseDuration, printable, quoted, stdoutGone, withNats } from './cli.js';

interface TailOptions {
  agent?: string;
  denied?: boolean;
  since?: string;
  json?: boolean;
}

/** `mcp-pytest audit tail`. */
export function auditCommand(program: Command): void {
  program
    .command('audit')
    .summary('follow the audit records of tool calls as they happen')
    .description(`The ${AUDIT_STREAM} stream: one record per tool call the gateway decided.`)
    .addHelpText('afterAll', `${NATS_ENVIRONMENT}\nAUDIT_MAX_AGE_DAYS: how long the audit stream keeps records, where this creates it.`)
    .command('tail')
    .summary('follow the audit records, one line per call, until Ctrl-C')
    .description(`Follows the ${AUDIT_STREAM} stream: one line per tool call the gateway decided, as it happens, until Ctrl-C.`)
    .usage('[--agent NAME] [--denied] [--since DURATION] [--json]')
    .option('--agent <NAME>', 'only this agent’s calls')
    .option('--denied', 'only calls the policy refused')
    .option('--since <DURATION>', 'start this far back (30s, 10m, 2h, 1d) instead of with the next call')
    .option('--json', 'each record as one line of JSON')
    .addHelpText(
      'after',
      `
Names a caller chose (tool, client) and reasons are printed with line breaks, terminal escapes and
other control characters escaped (\\n, \\u001b, …), and \\ as \\\\: one record is one line.`,
    )
    .action(({ agent, denied, since, json }: TailOptions) =>
      tail({
        filter: auditSubject(denied ? 'denied' : '*', agent === undefined ? '*' : check(AgentName, agent, '--agent')),
        sinceMs: since === undefined ? undefined : parseDuration(since, '--since'),
        json: json ?? false,
      }),
    );
}

function tail({ filter, sinceMs, json }: { filter: string; sinceMs: number | undefined; json: boolean }): Promise<void> {
  return withNats(async ({ env, js, jsm, store }) => {
    await ensureAuditStream(jsm, { ...store, maxAgeDays: env.AUDIT_MAX_AGE_DAYS });
    const start = sinceMs === undefined ? undefined : new Date(Date.now() - sinceMs).toISOString();
    const consumer = await js.consumers.get(
      AUDIT_STREAM,
      start ? { filter_subjects: filter, opt_start_time: start } : { filter_subjects: filter, deliver_policy: DeliverPolicy.New },
    );
    const messages = await consumer.consume();
    const stop = () => void messages.stop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    stdoutGone.addEventListener('abort', stop, { once: true });
    note(`following ${AUDIT_STREAM} (${filter}, ${start ? `since ${start}` : 'new records'}); Ctrl-C to stop`);
    for await (const msg of messages) {
      const parsed = AuditMessage.safeParse(jsonOf(msg));
      if (!parsed.success) note(`skipping ${msg.subject} (sequence ${msg.seq}): not audit records`);
      else for (const record of parsed.data) out(json ? jsonText(record) : formatRecord(record));
    }
    await consumer.delete().catch(() => undefined);
  });
}

/**
 * time, decision, agent (grant), tool, then what is known: rule, reason, outcome, error code, latency, seq, client.
 * Every text is printable (a caller's tool name may hold a line break or a terminal escape), so one record is one row.
 */
function formatRecord(record: AuditRecord): string {
  const parts = [record.at, record.decision.padEnd(7), `${record.agent} (${record.grant})`, record.tool].map(printable);
  if (record.rule) parts.push(`rule=${printable(record.rule)}`);
  if (record.reason) parts.push(`reason=${quoted(record.reason)}`);
  if (record.outcome) parts.push(`outcome=${record.outcome}`);
  if (record.error_code) parts.push(`error=${printable(record.error_code)}`);
  parts.push(`${record.latency_ms.toFixed(1)}ms`);
  if (record.seq !== undefined) parts.push(`seq=${record.seq}`);
  if (record.client) parts.push(`client=${quoted(record.client)}`);
  return parts.join('  ');
}
