import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, JSONRPCMessage, JSONRPCResultResponse, MessageExtraInfo, RequestId, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AuditRecord, PolicyFile } from '#contracts';
import { checkCall, visibleTools, type PolicyCall } from '#domain';
import type { McpConnection } from '../mcp/mcp-connection.js';
import { ApprovalDesk, type Waiting } from './approval-desk.js';
import { AuditLog } from './audit-log.js';
import { LimitCounters } from './limit-counters.js';
import { PolicySource } from './policy.source.js';

/** Approval arguments shown to the approver, at most (bytes of JSON, as characters). */
const APPROVAL_ARGS_CHARS = 4096;

type Request = { jsonrpc: '2.0'; id: RequestId; method: string; params?: Record<string, unknown> };
const isRequest = (m: JSONRPCMessage): m is Request => 'method' in m && 'id' in m;
const isResponse = (m: JSONRPCMessage): m is Extract<JSONRPCMessage, { id: RequestId }> & ({ result: unknown } | { error: unknown }) =>
  'id' in m && ('result' in m || 'error' in m);
const isResult = (m: JSONRPCMessage): m is JSONRPCResultResponse => 'id' in m && 'result' in m;

/** A call let through to the tool: what its audit row needs once it is answered. */
interface Admitted {
  record: Omit<AuditRecord, 'latency_ms'>;
  started: number;
  taken: string[];
}

/** Refused by policy: the caller's isError text names the rule and the reason. */
const denial = (tool: string, rule: string, reason: string) => `[POLICY DENIED] ${tool}: ${reason} (rule: ${rule})`;

/**
 * Policy in front of the MCP server, as an MCP gateway puts it: it sits between the transport and
 * the server, so a call is decided (allow/deny, limits, approval) before the tool validates or runs
 * it, `tools/list` answers show only what the caller may call, and every call leaves an audit row.
 */
@Injectable()
export class PolicyGate {
  readonly log = new Logger('PolicyGate');

  constructor(
    readonly policies: PolicySource,
    readonly counters: LimitCounters,
    readonly approvals: ApprovalDesk,
    readonly audit: AuditLog,
  ) {}

  /** The transport the connection's McpServer connects to: `transport`, with policy applied. */
  guard(transport: Transport, connection: McpConnection): Transport {
    return new GuardedTransport(transport, connection, this);
  }
}

class GuardedTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];
  private readonly admitted = new Map<RequestId, Admitted>();
  private readonly waiting = new Map<RequestId, AbortController>();
  private readonly lists = new Set<RequestId>();
  private visible: string;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly inner: Transport,
    private readonly connection: McpConnection,
    private readonly gate: PolicyGate,
  ) {
    this.visible = this.visibleNow(gate.policies.current).join();
    this.unsubscribe = gate.policies.onChange((policy) => this.policyChanged(policy));
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
    this.inner.onclose = () => {
      this.unsubscribe();
      for (const waiting of this.waiting.values()) waiting.abort();
      this.onclose?.();
    };
    await this.inner.start();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (isResponse(message)) {
      const admitted = this.admitted.get(message.id);
      if (admitted) {
        this.admitted.delete(message.id);
        this.answered(admitted, message);
      }
      if (this.lists.delete(message.id) && isResult(message)) message = this.listed(message);
    }
    return this.inner.send(message, options);
  }

  private receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    if (isRequest(message)) {
      if (message.method === 'tools/call') return void this.screen(message, extra);
      if (message.method === 'tools/list') this.lists.add(message.id);
    } else if ('method' in message && message.method === 'notifications/cancelled') {
      const requestId = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      if (requestId !== undefined) this.cancelled(requestId);
    }
    this.onmessage?.(message, extra);
  }

  /** Decides a tools/call; only an admitted call reaches the McpServer. */
  private async screen(message: Request, extra?: MessageExtraInfo): Promise<void> {
    const started = performance.now();
    const params = message.params ?? {};
    const tool = typeof params.name === 'string' ? params.name : '';
    const args = params.arguments;
    const { identity, actor, id: mcpSession } = this.connection;
    const record: Omit<AuditRecord, 'latency_ms'> = {
      id: randomUUID(),
      at: new Date().toISOString(),
      agent: identity.agent,
      grant: identity.grant,
      via: actor.via,
      ...(actor.client && { client: actor.client }),
      tool,
      arg_keys: args && typeof args === 'object' && !Array.isArray(args) ? Object.keys(args) : [],
      decision: 'allowed',
    };
    const refuse = (rule: string, reason: string, taken: string[] = []) => {
      void this.gate.counters.giveBack(taken);
      this.gate.audit.record({ ...record, decision: 'denied', rule, reason, latency_ms: performance.now() - started });
      return this.inner.send(toolError(message.id, denial(tool, rule, reason)));
    };
    const policy = this.gate.policies.current;
    const call: PolicyCall = { tool, args, identity, mcpSession };
    const verdict = checkCall(policy, call);
    if (!verdict.allowed) return refuse(verdict.rule, verdict.reason);
    let taken: string[] = [];
    try {
      if (verdict.limits.length > 0) {
        const taking = await this.gate.counters.take(verdict.limits, Date.now());
        if (!taking.ok) {
          const { limit, resetsAt } = taking;
          const inSeconds = Math.max(1, Math.ceil((resetsAt - Date.now()) / 1000));
          return await refuse(
            limit.rule,
            `limit "${limit.limit.counter}" reached (${limit.text}); resets at ${new Date(resetsAt).toISOString()} (in ${inSeconds}s)`,
          );
        }
        taken = taking.taken;
      }
      if (verdict.approval) {
        const decided = await this.awaitApproval(message, tool, args, verdict.approval);
        record.approval_id = decided.id;
        if (decided.decision !== 'approved') {
          const why = decided.decision === 'expired' ? `expired: ${decided.reason}` : `was ${decided.decision} by ${decided.by}${decided.reason ? `: ${decided.reason}` : ''}`;
          return await refuse(verdict.approval.rule, `approval ${decided.id} ${why}`, taken);
        }
        Object.assign(record, { rule: verdict.approval.rule, reason: `approved by ${decided.by}${decided.reason ? `: ${decided.reason}` : ''}` });
      }
    } catch (error) {
      void this.gate.counters.giveBack(taken);
      this.gate.log.warn(`${tool}: policy could not be applied: ${String(error)}`);
      this.gate.audit.record({ ...record, decision: 'denied', rule: 'unavailable', reason: String(error), latency_ms: performance.now() - started });
      return this.inner.send(toolError(message.id, `[POLICY_UNAVAILABLE] ${tool}: the policy's limits or approvals could not be checked (${String(error)}); try again`));
    }
    this.admitted.set(message.id, { record, started, taken });
    this.onmessage?.(message, extra);
  }

  private async awaitApproval(message: Request, tool: string, args: unknown, approval: { rule: string; timeoutMs: number }) {
    const { identity, actor } = this.connection;
    const progressToken = (message.params?._meta as { progressToken?: string | number } | undefined)?.progressToken;
    const abort = new AbortController();
    this.waiting.set(message.id, abort);
    try {
      return await this.gate.approvals.decide(
        {
          ...identity,
          via: actor.via,
          ...(actor.client && { client: actor.client }),
          tool,
          rule: approval.rule,
          args: JSON.stringify(args ?? {}).slice(0, APPROVAL_ARGS_CHARS),
        },
        approval.timeoutMs,
        abort.signal,
        (waiting) => progressToken !== undefined && void this.progress(message.id, progressToken, tool, waiting),
      );
    } finally {
      this.waiting.delete(message.id);
    }
  }

  private progress(requestId: RequestId, progressToken: string | number, tool: string, { id, elapsedMs, timeoutMs }: Waiting) {
    const left = Math.ceil((timeoutMs - elapsedMs) / 1000);
    return this.inner
      .send(
        {
          jsonrpc: '2.0',
          method: 'notifications/progress',
          params: {
            progressToken,
            progress: Math.floor(elapsedMs / 1000),
            total: timeoutMs / 1000,
            message: `${tool} waits for approval ${id} (mcp-pytest approvals approve ${id}); denied in ${left}s without a decision`,
          },
        },
        { relatedRequestId: requestId },
      )
      .catch(() => undefined);
  }

  /** The client gave up on a request: a waiting approval is withdrawn; an admitted call is audited as cancelled. */
  private cancelled(requestId: RequestId): void {
    this.waiting.get(requestId)?.abort();
    const admitted = this.admitted.get(requestId);
    if (!admitted) return;
    this.admitted.delete(requestId);
    this.gate.audit.record({ ...admitted.record, outcome: 'cancelled', latency_ms: performance.now() - admitted.started });
  }

  /** An admitted call was answered: audit it, and give back its quota if it failed. */
  private answered({ record, started, taken }: Admitted, message: { result: unknown } | { error: unknown }): void {
    const result = 'result' in message ? (message.result as CallToolResult) : undefined;
    const failed = !result || result.isError === true;
    if (failed && taken.length > 0) void this.gate.counters.giveBack(taken);
    const text = result?.content?.[0]?.type === 'text' ? result.content[0].text : '';
    const structured = result?.structuredContent as { seq?: unknown; session_id?: unknown } | undefined;
    this.gate.audit.record({
      ...record,
      outcome: failed ? 'error' : 'ok',
      ...(failed && { error_code: /^\[([A-Z_ ]+)\]/.exec(text)?.[1] ?? (result ? 'TOOL_ERROR' : 'PROTOCOL_ERROR') }),
      ...(typeof structured?.seq === 'number' && { seq: structured.seq }),
      ...(typeof structured?.session_id === 'string' && { session_id: structured.session_id }),
      latency_ms: performance.now() - started,
    });
  }

  private visibleNow(policy: PolicyFile): string[] {
    return visibleTools(policy, this.connection.identity.grant);
  }

  private listed(message: JSONRPCResultResponse): JSONRPCResultResponse {
    const visible = new Set(this.visibleNow(this.gate.policies.current));
    const tools = (message.result.tools ?? []) as Tool[];
    return { ...message, result: { ...message.result, tools: tools.filter((tool) => visible.has(tool.name)) } };
  }

  /** Tells the client its tools changed when a reloaded policy shows it others. */
  private policyChanged(policy: PolicyFile): void {
    const visible = this.visibleNow(policy).join();
    if (visible === this.visible) return;
    this.visible = visible;
    void this.inner.send({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }).catch(() => undefined);
  }
}

function toolError(id: RequestId, text: string): JSONRPCMessage {
  const result: CallToolResult = { content: [{ type: 'text', text }], isError: true };
  return { jsonrpc: '2.0', id, result };
}
