import { Inject, Injectable, Module, Global } from '@nestjs/common';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { isToolName, type AuditRecord } from '#contracts';
import { LATENCY_BUCKETS, METRICS, MetricsModule } from '#metrics';

/**
 * Where a tool call's time goes: `receive` (over HTTP, reading and parsing the POST that brings it),
 * `policy` (arrival until admitted: the policy, limit counts, approval, and within it `validate`, the
 * arguments checked against the tool's schema), then `handler` (admitted until answered: the MCP
 * server and the tool), within which a write spends `queue` (behind the session's write in flight),
 * `load` (reading the session's events when not cached), `decide` and `publish` (each event to its
 * PubAck); then `audit` (its audit record closed and handed to the audit log) and `send` (the answer
 * written to the transport).
 */
export type CallStage = 'receive' | 'policy' | 'validate' | 'handler' | 'queue' | 'load' | 'decide' | 'publish' | 'audit' | 'send';

/** The gateway's metrics: calls by tool and result, their latency and its stages, policy decisions, MCP sessions open. */
@Injectable()
export class GatewayMetrics {
  private readonly calls: Counter<'tool' | 'result'>;
  private readonly callSeconds: Histogram<'tool'>;
  private readonly decisions: Counter<'decision'>;
  private readonly stageSeconds: Histogram<'stage'>;
  private readonly sessionCounts = new Map<string, () => number>();

  constructor(@Inject(METRICS) registry: Registry) {
    const registers = [registry];
    this.calls = new Counter({
      name: 'mcp_pytest_tool_calls_total',
      help: 'Tool calls answered, by tool and result: ok, cancelled, or the code of the refusal or error (POLICY_DENIED, INVALID_ARGUMENTS, …).',
      labelNames: ['tool', 'result'],
      registers,
    });
    this.callSeconds = new Histogram({
      name: 'mcp_pytest_tool_call_duration_seconds',
      help: 'From a tool call arriving at the gateway to its answer.',
      labelNames: ['tool'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.decisions = new Counter({ name: 'mcp_pytest_policy_decisions_total', help: 'Policy decisions on tool calls.', labelNames: ['decision'], registers });
    this.stageSeconds = new Histogram({
      name: 'mcp_pytest_call_stage_duration_seconds',
      help: 'Time in each stage of a tool call: receive (HTTP body), policy (within it validate), handler (within it, for a write: queue, load, decide, publish to the PubAck), audit, send.',
      labelNames: ['stage'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const counts = this.sessionCounts;
    new Gauge({
      name: 'mcp_pytest_mcp_sessions_open',
      help: 'MCP sessions open, by transport.',
      labelNames: ['transport'],
      registers,
      collect() {
        for (const [transport, count] of counts) this.set({ transport }, count());
      },
    });
  }

  /** A call's audit record, once it ended. A tool name the caller made up counts as `unknown`: labels stay few. */
  callEnded(record: AuditRecord): void {
    const tool = isToolName(record.tool) ? record.tool : 'unknown';
    const result =
      record.decision === 'denied' ? policyRefusal(record) : record.outcome === 'error' ? (record.error_code ?? 'error') : (record.outcome ?? 'ok');
    this.calls.inc({ tool, result });
    this.callSeconds.observe({ tool }, record.latency_ms / 1000);
    this.decisions.inc({ decision: record.decision });
  }

  /** A stage that began at `startedAt` (performance.now()) ended now. */
  stage(stage: CallStage, startedAt: number): void {
    this.stageSeconds.observe({ stage }, (performance.now() - startedAt) / 1000);
  }

  /** Counts `transport`'s open MCP sessions with `count` at each scrape. */
  countSessions(transport: string, count: () => number): void {
    this.sessionCounts.set(transport, count);
  }
}

/** The code a call denied by the gate was answered with: its limits or approvals could not be checked, or the policy said no. */
const policyRefusal = (record: AuditRecord) => (record.rule === 'unavailable' ? 'POLICY_UNAVAILABLE' : 'POLICY_DENIED');

/** The gateway's metrics, for every module of it. */
@Global()
@Module({ imports: [MetricsModule.forRoot('gateway')], providers: [GatewayMetrics], exports: [GatewayMetrics] })
export class GatewayMetricsModule {}
