import type { LoggerService } from '@nestjs/common';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, JSONRPCResultResponse, MessageExtraInfo, RequestId, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { PolicySource } from '#auth';
import { isToolName, toolArgumentsProblems, type PolicyFile, type Refusal } from '#contracts';
import { checkCall, visibleTools, type AppliedLimit } from '#domain';
import type { McpConnection } from '../mcp/mcp-connection.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { refusalResult } from '../mcp/refusal-result.js';
import type { ApprovalDesk, Waiting } from './approval-desk.js';
import type { AuditLog } from './audit-log.js';
import { answerEnding, closedRecord, openRecord, type Ending, type OpenRecord } from './audit-record.js';
import type { LimitCounters, Taken } from './limit-counters.js';

/** What the guarded transport uses: the policy in force, limit counts, approvals, the audit log, metrics, and a log for failures. */
export interface GateDeps {
  policies: Pick<PolicySource, 'current' | 'onChange'>;
  counters: Pick<LimitCounters, 'take' | 'giveBack'>;
  approvals: Pick<ApprovalDesk, 'decide'>;
  audit: Pick<AuditLog, 'record'>;
  metrics: Pick<GatewayMetrics, 'callEnded' | 'stage'>;
  log: Pick<LoggerService, 'warn'>;
}

/** Who calls on the guarded connection: policy decides by identity, limits count per MCP session, records name the actor. */
export type GuardedConnection = Pick<McpConnection, 'id' | 'identity' | 'actor'>;

/** Approval arguments shown to the approver, at most (characters of JSON). */
const APPROVAL_ARGS_CHARS = 4096;

type Request = { jsonrpc: '2.0'; id: RequestId; method: string; params?: Record<string, unknown> };
const isRequest = (m: JSONRPCMessage): m is Request => 'method' in m && 'id' in m;
const isResponse = (m: JSONRPCMessage): m is Extract<JSONRPCMessage, { id: RequestId }> & ({ result: unknown } | { error: unknown }) =>
  'id' in m && ('result' in m || 'error' in m);
const isResult = (m: JSONRPCMessage): m is JSONRPCResultResponse => 'id' in m && 'result' in m;

/** A tools/call from its arrival until it is answered: what its audit record and quota need. */
interface Call {
  tool: string;
  record: OpenRecord;
  started: number;
  /** Quotas it took. */
  taken: Taken[];
  /** Passed to the McpServer, at this time (performance.now()). */
  admittedAt?: number;
  /** The client cancelled it, or its MCP session closed: its answer would reach nobody. */
  gone?: true;
  approval?: AbortController;
}

interface PolicyRefusal {
  rule: string;
  reason: string;
}

/**
 * A transport with policy applied, between the connection's transport (`inner`) and its McpServer:
 * a tools/call is decided (allow/deny, limits, approval) before the tool validates or runs it,
 * `tools/list` answers show only what the caller may call, and every call leaves an audit record.
 */
export class GuardedTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];
  /** tools/call requests in flight, by JSON-RPC id. */
  private readonly calls = new Map<RequestId, Call>();
  /** tools/list requests in flight, whose answers are filtered. */
  private readonly lists = new Set<RequestId>();
  private closed = false;
  private visible: string;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly inner: Transport,
    private readonly connection: GuardedConnection,
    private readonly deps: GateDeps,
  ) {
    this.visible = this.visibleNow(deps.policies.current).join();
    this.unsubscribe = deps.policies.onChange((policy) => this.policyChanged(policy));
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }

  async start(): Promise<void> {
    this.inner.onmessage = (message, extra) => this.receive(message, extra);
    this.inner.onerror = (error) => this.onerror?.(error);
    this.inner.onclose = () => this.ended();
    await this.inner.start();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (isResponse(message)) {
      const call = this.calls.get(message.id);
      if (call?.admittedAt !== undefined) {
        this.answered(message.id, call, message);
        const sentAt = performance.now();
        await this.inner.send(message, options);
        return this.deps.metrics.stage('send', sentAt);
      }
      if (this.lists.delete(message.id) && isResult(message)) message = this.listed(message);
    }
    return this.inner.send(message, options);
  }

  private receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    if (isRequest(message)) {
      // Answers are matched to requests by id: one in flight twice could skip its audit record or its filter.
      if (this.calls.has(message.id) || this.lists.has(message.id)) {
        return this.answer({
          jsonrpc: '2.0',
          id: message.id,
          error: { code: -32600, message: `Invalid Request: id ${JSON.stringify(message.id)} is in use by a request in flight` },
        });
      }
      if (message.method === 'tools/call') return void this.screen(message, extra).catch((error: Error) => this.onerror?.(error));
      if (message.method === 'tools/list') this.lists.add(message.id);
    } else if ('method' in message && message.method === 'notifications/cancelled') {
      const requestId = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      if (requestId !== undefined) this.cancelled(requestId, 'the client cancelled it');
    }
    this.onmessage?.(message, extra);
  }

  /** Decides a tools/call; only an admitted call reaches the McpServer. */
  private async screen(message: Request, extra?: MessageExtraInfo): Promise<void> {
    const params = message.params ?? {};
    const tool = typeof params.name === 'string' ? params.name : '';
    const call = this.arrived(message.id, tool, params.arguments);
    const { identity, id: mcpSession } = this.connection;
    const verdict = checkCall(this.deps.policies.current, { tool, args: params.arguments, identity, mcpSession });
    if (!verdict.allowed) return this.refuse(message.id, call, verdict);
    // Validated before any quota is taken or person asked: bad input costs nothing and waits for no one.
    const validatedAt = performance.now();
    const invalid = invalidArguments(tool, params.arguments);
    this.deps.metrics.stage('validate', validatedAt);
    if (invalid) return this.invalid(message.id, call, invalid);
    let refusal: PolicyRefusal | undefined;
    try {
      refusal = (await this.takeQuota(call, verdict.limits)) ?? (verdict.approval && (await this.approve(message, call, verdict.approval)));
    } catch (error) {
      return this.unavailable(message.id, call, error);
    }
    if (refusal) return this.refuse(message.id, call, refusal);
    if (call.gone) return this.finish(message.id, call, { outcome: 'cancelled', reason: 'cancelled before it reached the tool' });
    call.admittedAt = performance.now();
    this.deps.metrics.stage('policy', call.started);
    this.onmessage?.(message, extra);
  }

  private arrived(id: RequestId, tool: string, args: unknown): Call {
    const call: Call = { tool, started: performance.now(), taken: [], record: openRecord(this.connection, tool, args, new Date()) };
    this.calls.set(id, call);
    return call;
  }

  /** Takes a quota of each limit; a refusal when one is used up (what was taken is then given back). */
  private async takeQuota(call: Call, limits: AppliedLimit[]): Promise<PolicyRefusal | undefined> {
    if (limits.length === 0) return undefined;
    const taking = await this.deps.counters.take(limits, Date.now());
    if (taking.ok) {
      call.taken = taking.taken;
      return undefined;
    }
    const { limit, resetsAt } = taking;
    const inSeconds = Math.max(1, Math.ceil((resetsAt - Date.now()) / 1000));
    return {
      rule: limit.rule,
      reason: `limit "${limit.limit.counter}" reached (${limit.text}); resets at ${new Date(resetsAt).toISOString()} (in ${inSeconds}s)`,
    };
  }

  /** Waits for a person; a refusal unless approved. */
  private async approve(message: Request, call: Call, approval: { rule: string; timeoutMs: number }): Promise<PolicyRefusal | undefined> {
    const { identity, actor } = this.connection;
    const progressToken = (message.params?._meta as { progressToken?: string | number } | undefined)?.progressToken;
    call.approval = new AbortController();
    const decided = await this.deps.approvals.decide(
      {
        ...identity,
        via: actor.via,
        ...(actor.client && { client: actor.client }),
        tool: call.tool,
        rule: approval.rule,
        args: JSON.stringify(message.params?.arguments ?? {}).slice(0, APPROVAL_ARGS_CHARS),
      },
      approval.timeoutMs,
      call.approval.signal,
      (waiting) => progressToken !== undefined && this.progress(message.id, progressToken, call.tool, waiting),
    );
    call.record.approval_id = decided.id;
    const by = `${decided.by}${decided.reason ? `: ${decided.reason}` : ''}`;
    if (decided.decision === 'approved') {
      Object.assign(call.record, { rule: approval.rule, reason: `approved by ${by}` });
      return undefined;
    }
    const why = decided.decision === 'expired' ? `expired: ${decided.reason}` : `was ${decided.decision} by ${by}`;
    return { rule: approval.rule, reason: `approval ${decided.id} ${why}` };
  }

  /** Denied: nothing reaches the tool; the quota goes back, the caller learns the rule and reason. */
  private refuse(id: RequestId, call: Call, { rule, reason }: PolicyRefusal): void {
    this.finish(id, call, { decision: 'denied', rule, reason });
    if (!call.gone) this.answer(toolError(id, { code: 'POLICY_DENIED', message: `${call.record.tool}: ${reason} (rule: ${rule})` }));
  }

  /** Allowed by policy, but the arguments break the tool's schema: nothing reaches the tool. */
  private invalid(id: RequestId, call: Call, problems: string): void {
    this.finish(id, call, { outcome: 'error', error_code: 'INVALID_ARGUMENTS' });
    if (!call.gone) this.answer(toolError(id, { code: 'INVALID_ARGUMENTS', message: `${call.tool}: ${problems}` }));
  }

  /** NATS could not count or ask: the call is not let through (fail closed). */
  private unavailable(id: RequestId, call: Call, error: unknown): void {
    this.deps.log.warn(`${call.tool}: policy could not be applied: ${String(error)}`);
    this.finish(id, call, { decision: 'denied', rule: 'unavailable', reason: String(error) });
    if (!call.gone) {
      const message = `${call.tool}: the policy's limits or approvals could not be checked (${String(error)}); try again`;
      this.answer(toolError(id, { code: 'POLICY_UNAVAILABLE', message }));
    }
  }

  /** An admitted call was answered: its quota goes back if it failed. */
  private answered(id: RequestId, call: Call, answer: { result: unknown } | { error: unknown }): void {
    this.deps.metrics.stage('handler', call.admittedAt!);
    const ending = answerEnding(answer);
    if (ending.outcome === 'ok') call.taken = [];
    this.finish(id, call, ending);
  }

  /**
   * The client cancelled a request, or the session closed: a call waiting for approval withdraws it;
   * an admitted one is audited as cancelled and keeps its quota (its write may have happened).
   */
  private cancelled(id: RequestId, reason: string): void {
    const call = this.calls.get(id);
    if (!call) return;
    call.gone = true;
    call.approval?.abort();
    if (call.admittedAt === undefined) return;
    call.taken = [];
    this.finish(id, call, { outcome: 'cancelled', reason });
  }

  /** The call's last step: its quota back (unless used), its audit record, and it leaves the calls in flight. */
  private finish(id: RequestId, call: Call, ending: Ending): void {
    this.calls.delete(id);
    if (call.taken.length > 0) void this.deps.counters.giveBack(call.taken);
    call.taken = [];
    const record = closedRecord(call.record, ending, performance.now() - call.started);
    const auditedAt = performance.now();
    this.deps.audit.record(record);
    this.deps.metrics.stage('audit', auditedAt);
    this.deps.metrics.callEnded(record);
  }

  private answer(message: JSONRPCMessage): void {
    this.inner.send(message).catch((error: Error) => this.onerror?.(error));
  }

  private progress(requestId: RequestId, progressToken: string | number, tool: string, { id, elapsedMs, timeoutMs }: Waiting): void {
    const left = Math.ceil((timeoutMs - elapsedMs) / 1000);
    const message = `${tool} waits for approval ${id} (mcp-pytest approvals approve ${id}); denied in ${left}s without a decision`;
    this.inner
      .send(
        {
          jsonrpc: '2.0',
          method: 'notifications/progress',
          params: { progressToken, progress: Math.floor(elapsedMs / 1000), total: timeoutMs / 1000, message },
        },
        { relatedRequestId: requestId },
      )
      .catch(() => undefined);
  }

  private ended(): void {
    this.closed = true;
    this.unsubscribe();
    for (const id of [...this.calls.keys()]) this.cancelled(id, 'the MCP session closed');
    this.onclose?.();
  }

  private visibleNow(policy: PolicyFile): string[] {
    return visibleTools(policy, this.connection.identity.grant);
  }

  private listed(message: JSONRPCResultResponse): JSONRPCResultResponse {
    const visible = new Set(this.visibleNow(this.deps.policies.current));
    const tools = (message.result.tools ?? []) as Tool[];
    return { ...message, result: { ...message.result, tools: tools.filter((tool) => visible.has(tool.name)) } };
  }

  /** Tells the client its tools changed when a reloaded policy shows it others. */
  private policyChanged(policy: PolicyFile): void {
    const visible = this.visibleNow(policy).join();
    if (visible === this.visible || this.closed) return;
    this.visible = visible;
    this.inner.send({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }).catch(() => undefined);
  }
}

function toolError(id: RequestId, refusal: Refusal): JSONRPCMessage {
  return { jsonrpc: '2.0', id, result: refusalResult(refusal) };
}

/** What is wrong with a known tool's arguments; unknown tools are refused by policy before this. */
const invalidArguments = (tool: string, args: unknown) => (isToolName(tool) ? toolArgumentsProblems(tool, args) : undefined);
